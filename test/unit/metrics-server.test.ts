import { Registry } from 'prom-client';
import { freeLoopbackPort, startMetricsServer } from '../../src/observability/metrics-server';

describe('metrics server', () => {
  it('answers /readyz 503 until the process is ready, then 200; /metrics either way', async () => {
    let ready = false;
    const server = await startMetricsServer({ host: '127.0.0.1', port: await freeLoopbackPort(), registry: new Registry(), ready: () => ready });
    const readyz = server.url.replace(/\/metrics$/, '/readyz');
    try {
      expect((await fetch(readyz)).status).toBe(503);
      expect((await fetch(server.url)).status).toBe(200);
      ready = true;
      const answer = await fetch(readyz);
      expect({ status: answer.status, body: await answer.json() }).toEqual({ status: 200, body: { status: 'ready' } });
    } finally {
      await server.close();
    }
  });

  it('has no /readyz when the process gives no readiness', async () => {
    const server = await startMetricsServer({ host: '127.0.0.1', port: await freeLoopbackPort(), registry: new Registry() });
    try {
      expect((await fetch(server.url.replace(/\/metrics$/, '/readyz'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
