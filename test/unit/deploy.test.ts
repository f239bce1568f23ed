import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { API_METRIC_NAMES } from '../../api/observability/api-metrics';
import { PROVIDER_METRIC_NAMES, TEMPORAL_SDK_METRIC_NAMES } from '../../worker/provider-metrics';
import { projectRoot } from '../../src/project-root';

const read = (...path: string[]) => readFileSync(join(projectRoot(), ...path), 'utf8');

interface Target {
  refId?: unknown;
  expr?: unknown;
  datasource?: { type?: unknown; uid?: unknown };
}
interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: { type?: unknown; uid?: unknown };
  targets?: Target[];
  panels?: Panel[];
}

const dashboard = JSON.parse(read('deploy', 'grafana', 'dashboards', 'chorus.json')) as { uid?: unknown; title?: unknown; schemaVersion?: unknown; panels?: Panel[] };
const datasources = parse(read('deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml')) as { datasources: { uid: string; type: string }[] };
const panels = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const queryPanels = panels.filter((panel) => panel.type !== 'row');

/** The provisioned Grafana dashboard has the structure Grafana's dashboard schema asks for, and queries only what Chorus exports. */
describe('Grafana dashboard', () => {
  it('has a uid, title and a current schemaVersion', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(typeof dashboard.title).toBe('string');
    expect(dashboard.schemaVersion).toEqual(expect.any(Number));
    expect(dashboard.schemaVersion as number).toBeGreaterThanOrEqual(36);
  });

  it('has panels with unique ids, a known type, a title and a grid position inside 24 columns', () => {
    expect(queryPanels.length).toBeGreaterThan(5);
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(ids.every((id) => Number.isInteger(id))).toBe(true);
      expect(['row', 'timeseries', 'stat', 'gauge', 'table', 'bargauge', 'heatmap', 'text']).toContain(panel.type);
      expect(typeof panel.title).toBe('string');
      const { x, y, w, h } = panel.gridPos ?? { x: -1, y: -1, w: 0, h: 0 };
      expect([x, y, w, h].every((value) => Number.isInteger(value) && value >= 0)).toBe(true);
      expect(w).toBeGreaterThan(0);
      expect(x + w).toBeLessThanOrEqual(24);
    }
  });

  it('queries the provisioned Prometheus datasource from every panel and target', () => {
    const prometheus = datasources.datasources.find((datasource) => datasource.type === 'prometheus')!;
    for (const panel of queryPanels) {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: prometheus.uid });
      expect(panel.targets?.length).toBeGreaterThan(0);
      const refIds = panel.targets!.map((target) => target.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const target of panel.targets!) {
        expect(target.refId).toMatch(/^[A-Z]$/);
        expect(target.datasource).toEqual({ type: 'prometheus', uid: prometheus.uid });
        expect(typeof target.expr).toBe('string');
        expect(target.expr).not.toBe('');
        // Balanced parentheses and braces: a cheap guard against a broken PromQL edit.
        for (const [open, close] of ['()', '{}', '[]']) {
          expect((target.expr as string).split(open).length).toBe((target.expr as string).split(close).length);
        }
      }
    }
  });

  it('queries only metrics Chorus exports (API, worker and the Temporal SDK on the worker)', () => {
    const exported = new Set<string>([...API_METRIC_NAMES, ...PROVIDER_METRIC_NAMES, ...TEMPORAL_SDK_METRIC_NAMES]);
    const queried = new Set(
      queryPanels.flatMap((panel) => panel.targets!.flatMap((target) => [...(target.expr as string).matchAll(/\b(?:chorus|temporal)_[a-z0-9_]+/g)].map(([name]) => name))),
    );
    const base = (name: string) => (exported.has(name) ? name : name.replace(/_(bucket|count|sum)$/, ''));
    expect([...queried].filter((name) => !exported.has(base(name)))).toEqual([]);
    // And every Chorus metric is on the dashboard.
    expect([...API_METRIC_NAMES, ...PROVIDER_METRIC_NAMES].filter((name) => ![...queried].some((query) => base(query) === name))).toEqual([]);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, { image?: string; command?: string[] | string; environment?: Record<string, unknown>; deploy?: { replicas?: unknown } }>;
  };

  it('runs PostgreSQL, Temporal with its UI, replicated API and workers, Prometheus and Grafana', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['postgresql', 'temporal', 'search-attributes', 'temporal-ui', 'api', 'worker', 'prometheus', 'grafana', 'redis']),
    );
    expect(compose.services.temporal.image).toMatch(/^temporalio\/(auto-setup|server):/);
    expect(compose.services['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
    expect(String(compose.services.api.deploy?.replicas)).not.toBe('1');
    expect(compose.services.worker.deploy?.replicas).toBeDefined();
  });

  it('points the API replicas and the workers at the one Redis, where they share rate limits and provider pacing', () => {
    for (const service of ['api', 'worker']) expect(compose.services[service].environment?.CHORUS_REDIS_URL).toBe('${CHORUS_REDIS_URL:-redis://redis:6379}');
  });


  it("scrapes the workers' metrics port and the API", () => {
    const prometheus = parse(read('deploy', 'prometheus', 'prometheus.yml')) as { scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[] };
    const port = (job: string) => prometheus.scrape_configs.find((config) => config.job_name === job)?.dns_sd_configs?.[0].port;
    expect(port('chorus-worker')).toBe(Number(compose.services.worker.environment?.CHORUS_WORKER_METRICS_PORT));
    expect(port('chorus-api')).toBe(3000);
  });
});
