import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpBalancer {
  port: number;
  close(): Promise<void>;
}

/**
 * A loopback TCP load balancer, the stand-in for the one production puts in front of Temporal's
 * frontends: each new connection goes to the next backend in turn, skipping any that refuses it.
 * gRPC keeps one connection per client, so a client whose node dies reconnects and lands on a live one.
 */
export function startTcpBalancer(backendPorts: () => number[], port = 0): Promise<TcpBalancer> {
  let next = 0;
  const open = new Set<Socket>();

  const route = (client: Socket) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.pause();
    const ports = backendPorts();
    const tryBackend = (attempt: number) => {
      if (attempt >= ports.length) return client.destroy();
      const backend = connect({ host: '127.0.0.1', port: ports[(next + attempt) % ports.length] });
      let connected = false;
      backend.on('error', () => (connected ? client.destroy() : tryBackend(attempt + 1)));
      backend.once('connect', () => {
        connected = true;
        next = (next + attempt + 1) % ports.length;
        open.add(backend);
        backend.once('close', () => {
          open.delete(backend);
          client.destroy();
        });
        client.on('error', () => backend.destroy());
        client.once('close', () => backend.destroy());
        client.pipe(backend).pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  };

  const server: Server = createServer(route);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of open) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
