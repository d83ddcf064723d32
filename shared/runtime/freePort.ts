import { createServer } from 'node:net';

/**
 * A TCP port on `host` that was free a moment ago: the kernel picks it for a listener on
 * port 0, which we close at once. Another process may take it before our server binds,
 * so callers retry with a fresh port when a server reports the address in use.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('kernel returned no port'))));
    });
  });
}

/**
 * The URL to print for a listener on host:port: a wildcard address (`0.0.0.0`, `::`) is
 * shown as the loopback address of its family, and IPv6 literals get their brackets.
 */
export function listenerUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}
