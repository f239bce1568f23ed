import { createConnection } from 'node:net';
import { startProcess, waitUntil } from '../../src/launcher/child-process';
import { freePort } from './reliability';

const ping = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      resolve(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.once('error', () => resolve(false));
  });

/** A throwaway redis-server (Debian's) on a free loopback port, without persistence. */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const redis = startProcess('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { PATH: process.env.PATH }, () => undefined);
  await waitUntil(`redis-server on ${port}`, () => ping(port), 10_000, 100);
  return { url: `redis://127.0.0.1:${port}`, stop: () => redis.stop(2000) };
}
