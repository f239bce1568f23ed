import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real 1x1 PNG. */
export const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
export const TINY_PNG_DATA_URL = `data:image/png;base64,${TINY_PNG.toString('base64')}`;

/** Serves /pixel.png (the PNG), /page.html (not an image) and /big.png (larger than small caps) on loopback. */
export async function startImageServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.url === '/pixel.png') {
      response.writeHead(200, { 'content-type': 'image/png' });
      return response.end(TINY_PNG);
    }
    if (request.url === '/big.png') {
      response.writeHead(200, { 'content-type': 'image/png' });
      return response.end(Buffer.alloc(64 * 1024));
    }
    if (request.url === '/page.html') {
      response.writeHead(200, { 'content-type': 'text/html' });
      return response.end('<html></html>');
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
