import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TemporalCluster } from '../../cluster/cluster';

/**
 * Jest's global setup owns the cluster, test files run in another realm: they ask for failures over
 * this loopback endpoint. POST /nodes/N/kill, /nodes/N/start, /postgres/restart; GET /nodes.
 */
export function serveClusterControl(cluster: TemporalCluster): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const reply = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const node = /^\/nodes\/(\d+)\/(kill|start)$/.exec(request.url ?? '');
    const action: (() => Promise<unknown>) | undefined =
      request.method === 'GET' && request.url === '/nodes'
        ? async () => Array.from({ length: cluster.nodeCount }, (_, index) => cluster.nodeAddress(index))
        : request.method === 'POST' && node
          ? () => (node[2] === 'kill' ? cluster.killNode(Number(node[1])) : cluster.startNode(Number(node[1])))
          : request.method === 'POST' && request.url === '/postgres/restart'
            ? () => cluster.restartPostgres()
            : undefined;
    if (!action) return reply(404, { message: `no ${request.method} ${request.url}` });
    action().then(
      (result) => reply(200, result ?? {}),
      (error: Error) => reply(500, { message: error.message }),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

/** What a test file calls: the cluster global setup's control endpoint. */
export function clusterControl() {
  const url = process.env.CHORUS_TEST_CLUSTER_CONTROL;
  if (!url) throw new Error('CHORUS_TEST_CLUSTER_CONTROL is not set: run the cluster tests with `npm run test:cluster`');
  const call = async <T>(method: string, path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`, { method, signal: AbortSignal.timeout(180_000) });
    const body = (await response.json()) as T & { message?: string };
    if (!response.ok) throw new Error(`${method} ${path}: ${body.message}`);
    return body;
  };
  return {
    nodes: () => call<string[]>('GET', '/nodes'),
    killNode: (index: number) => call('POST', `/nodes/${index}/kill`),
    startNode: (index: number) => call('POST', `/nodes/${index}/start`),
    restartPostgres: () => call('POST', '/postgres/restart'),
  };
}
