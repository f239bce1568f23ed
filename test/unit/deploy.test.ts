import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { API_METRIC_NAMES } from '../../api/observability/api-metrics';
import { PROVIDER_METRIC_NAMES, TEMPORAL_SDK_METRIC_NAMES, TENANT_SPEND_METRIC_NAMES } from '../../worker/provider-metrics';
import { RUN_METRIC_NAMES } from '../../worker/run-metrics';
import { SCOPES } from '../../src/config/auth';
import { projectRoot } from '../../src/project-root';
import { devServerDynamicConfigArgs, SHARED_DYNAMIC_CONFIG } from '../../src/temporal/cluster-config';

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

const dashboard = JSON.parse(read('deploy', 'grafana', 'dashboards', 'chorus.json')) as {
  uid?: unknown;
  title?: unknown;
  schemaVersion?: unknown;
  panels?: Panel[];
};
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
    const exported = new Set<string>([
      ...API_METRIC_NAMES,
      ...PROVIDER_METRIC_NAMES,
      ...TENANT_SPEND_METRIC_NAMES,
      ...RUN_METRIC_NAMES,
      ...TEMPORAL_SDK_METRIC_NAMES,
    ]);
    const queried = new Set(
      queryPanels.flatMap((panel) =>
        panel.targets!.flatMap((target) => [...(target.expr as string).matchAll(/\b(?:chorus|temporal)_[a-z0-9_]+/g)].map(([name]) => name)),
      ),
    );
    const base = (name: string) => (exported.has(name) ? name : name.replace(/_(bucket|count|sum)$/, ''));
    expect([...queried].filter((name) => !exported.has(base(name)))).toEqual([]);
    // And every Chorus metric is on the dashboard.
    expect(
      [...API_METRIC_NAMES, ...PROVIDER_METRIC_NAMES, ...TENANT_SPEND_METRIC_NAMES, ...RUN_METRIC_NAMES].filter(
        (name) => ![...queried].some((query) => base(query) === name),
      ),
    ).toEqual([]);
  });
});

interface ComposeService {
  image?: string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, unknown>;
  deploy?: { replicas?: unknown };
  healthcheck?: { test?: string[] | string };
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
}

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = parse(text, { merge: true }) as { services: Record<string, ComposeService> };
  const services = Object.entries(compose.services);
  const script = (service: ComposeService) => [service.entrypoint ?? [], service.command ?? []].flat().join(' ');
  /** One-shot jobs: they run to completion, and what needs them waits for that (their exit code is their health). */
  const jobs = new Set(
    services.flatMap(([, service]) =>
      Array.isArray(service.depends_on)
        ? []
        : Object.entries(service.depends_on ?? {}).flatMap(([name, { condition }]) => (condition === 'service_completed_successfully' ? [name] : [])),
    ),
  );

  it('runs PostgreSQL, Temporal with its schema job and UI, replicated API and workers, Prometheus and Grafana', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        'postgresql',
        'temporal-schema',
        'temporal',
        'temporal-namespace',
        'search-attributes',
        'temporal-ui',
        'api',
        'worker',
        'prometheus',
        'grafana',
        'redis',
      ]),
    );
    expect(compose.services['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
    expect(String(compose.services.api.deploy?.replicas)).not.toBe('1');
    expect(compose.services.worker.deploy?.replicas).toBeDefined();
  });

  it('documents an example key whose scopes are all scopes the API knows (it refuses to start otherwise)', () => {
    const example = /CHORUS_API_KEYS='(\[.*\])'/.exec(text);
    expect(example).not.toBeNull();
    const entries = JSON.parse(example![1]) as { scopes: string[] }[];
    const scopes = entries.flatMap((entry) => entry.scopes);
    expect(scopes.length).toBeGreaterThan(0);
    expect(scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope))).toEqual([]);
  });

  it('runs the Temporal server image (not the deprecated auto-setup) after an explicit schema job of the same version', () => {
    expect(text).not.toMatch(/auto-setup/);
    const version = /^temporalio\/server:(\d+\.\d+\.\d+)$/.exec(compose.services.temporal.image ?? '')?.[1];
    expect(version).toBeDefined();
    const schema = compose.services['temporal-schema'];
    expect(schema.image).toBe(`temporalio/admin-tools:${version}`);
    expect(script(schema)).toMatch(/temporal-sql-tool/);
    // Both stores: create if missing, then set up and update to the versioned schema of this release.
    for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d']) expect(script(schema)).toContain(step);
    expect(script(schema)).toContain('/etc/temporal/schema/postgresql/v12/');
    expect(script(schema)).toMatch(/:temporal".*:visibility"/);
    expect(compose.services.temporal.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    expect(compose.services['temporal-namespace'].image).toBe(`temporalio/admin-tools:${version}`);
    expect(script(compose.services['temporal-namespace'])).toMatch(/temporal operator namespace create/);
  });

  it('checks Temporal with the temporal CLI, never tctl', () => {
    expect(text).not.toMatch(/\btctl\b/);
    expect([compose.services.temporal.healthcheck?.test ?? []].flat().join(' ')).toMatch(/^CMD temporal operator cluster health/);
  });

  it('gives every long-running service a healthcheck; one-shot jobs run once and are waited for', () => {
    expect(jobs).toEqual(new Set(['temporal-schema', 'temporal-namespace', 'search-attributes']));
    for (const [name, service] of services) {
      if (jobs.has(name)) expect({ name, restart: service.restart, healthcheck: service.healthcheck }).toEqual({ name, restart: 'no', healthcheck: undefined });
      else expect({ name, healthcheck: [service.healthcheck?.test ?? []].flat()[0] }).toEqual({ name, healthcheck: expect.stringMatching(/^CMD(-SHELL)?$/) });
    }
  });

  it('starts each service once what it depends on is healthy, or done for a job', () => {
    for (const [name, service] of services) {
      expect({ name, listForm: Array.isArray(service.depends_on) }).toEqual({ name, listForm: false });
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        const expected = jobs.has(dependency) ? 'service_completed_successfully' : 'service_healthy';
        expect({ name, dependency, condition }).toEqual({ name, dependency, condition: expected });
      }
    }
  });

  it('points the API replicas and the workers at the one Redis, where they share rate limits and provider pacing', () => {
    for (const service of ['api', 'worker']) expect(compose.services[service].environment?.CHORUS_REDIS_URL).toBe('${CHORUS_REDIS_URL:-redis://redis:6379}');
  });

  it("scrapes the workers' metrics port and the API", () => {
    const prometheus = parse(read('deploy', 'prometheus', 'prometheus.yml')) as {
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    const port = (job: string) => prometheus.scrape_configs.find((config) => config.job_name === job)?.dns_sd_configs?.[0].port;
    expect(port('chorus-worker')).toBe(Number(compose.services.worker.environment?.CHORUS_WORKER_METRICS_PORT));
    expect(port('chorus-api')).toBe(3000);
  });
});

describe('deploy/temporal/dynamicconfig.yaml', () => {
  const dynamicConfig = parse(read('deploy', 'temporal', 'dynamicconfig.yaml')) as Record<string, { value: unknown; constraints?: unknown }[]>;

  it('turns on what versioned deploys need and lifts the dispatch read limit, with the values the dev server gets as flags', () => {
    expect(Object.keys(SHARED_DYNAMIC_CONFIG)).toHaveLength(3);
    for (const [key, value] of Object.entries(SHARED_DYNAMIC_CONFIG)) expect(dynamicConfig[key]).toEqual([{ value, constraints: {} }]);
    expect(devServerDynamicConfigArgs()).toEqual([
      '--dynamic-config-value',
      'system.enableDeploymentVersions=true',
      '--dynamic-config-value',
      'frontend.workerVersioningWorkflowAPIs=true',
      '--dynamic-config-value',
      'history.transferProcessorMaxPollRPS=1000',
    ]);
  });

  it('lets a history shard run several persistence writes at once (the default, 1, makes every write of a shard wait for the one before)', () => {
    expect(dynamicConfig['history.shardIOConcurrency']).toEqual([{ value: 8, constraints: {} }]);
  });
});
