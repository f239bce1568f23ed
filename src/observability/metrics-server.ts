import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` in the Prometheus text format: the registry's metrics, followed by those of
 * `upstream` (the Temporal SDK's own exporter), so one scrape target covers the whole process; and,
 * given `ready`, `GET /readyz` (200 when ready, else 503) for a container healthcheck.
 */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  upstream?: string;
  ready?: () => boolean;
}): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (options.ready && request.method === 'GET' && request.url === '/readyz') {
      const ready = options.ready();
      response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ready ? 'ready' : 'not ready' }));
      return;
    }
    if (request.method !== 'GET' || !request.url?.startsWith('/metrics')) {
      response.writeHead(404).end();
      return;
    }
    void (async () => {
      const own = await options.registry.metrics();
      const upstream = options.upstream
        ? await fetch(options.upstream, { signal: AbortSignal.timeout(2000) })
            .then((answer) => (answer.ok ? answer.text() : ''))
            .catch(() => '')
        : '';
      response.writeHead(200, { 'content-type': options.registry.contentType });
      response.end(`${own}\n${upstream}`);
    })().catch((error: Error) => {
      response.writeHead(500).end(error.message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A free loopback port for a listener that cannot pick its own (the SDK's exporter). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
