import { connect, type Socket } from 'node:net';
import { MongoClient } from 'mongodb';

/**
 * Readiness probes that speak each server's own protocol: an open port is not enough
 * (Redis answers `-LOADING` while it replays its AOF, NATS accepts clients before
 * JetStream has recovered its streams).
 */
export type Probe = () => Promise<void>;

const PROBE_TIMEOUT_MS = 2_000;

/** Sends `request` on a fresh connection and resolves with what arrived once `done` says so. */
function exchange(port: number, host: string, request: string, done: (received: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket: Socket = connect({ port, host });
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => fail(new Error(`no answer from ${host}:${port}`)));
    socket.once('error', fail);
    socket.once('connect', () => {
      if (request) socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (done(received)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.once('end', () => fail(new Error(`connection closed by ${host}:${port}: ${received.trim()}`)));
  });
}

/**
 * NATS: the INFO line (the server accepts clients; every client must authenticate, so the
 * probe stops there), then the monitor's /healthz (JetStream ready).
 */
export function natsProbe(port: number, monitorPort: number, host = '127.0.0.1'): Probe {
  return async () => {
    const greeting = await exchange(port, host, '', (r) => r.includes('\r\n'));
    if (!greeting.startsWith('INFO ')) throw new Error(`unexpected NATS greeting: ${greeting.slice(0, 80)}`);
    const health = await fetch(`http://${host}:${monitorPort}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!health.ok) throw new Error(`NATS /healthz: ${health.status} ${await health.text()}`);
  };
}

/** Redis: PING (after AUTH when a password is given) must answer +PONG (not -LOADING while the AOF is replayed). */
export function redisProbe(port: number, host = '127.0.0.1', password?: string): Probe {
  const auth = password === undefined ? '' : `AUTH ${password}\r\n`;
  const lines = password === undefined ? 1 : 2;
  return async () => {
    const reply = await exchange(port, host, `${auth}PING\r\n`, (r) => r.split('\r\n').length > lines);
    const replies = reply.split('\r\n');
    if (password !== undefined && !replies[0]?.startsWith('+OK')) throw new Error(`redis AUTH: ${replies[0]}`);
    const ping = replies[lines - 1] ?? '';
    if (!ping.startsWith('+PONG')) throw new Error(`redis PING: ${ping}`);
  };
}

/** MongoDB wire protocol: the `ping` command through the official driver. */
export function mongoProbe(url: string): Probe {
  return async () => {
    const client = new MongoClient(url, {
      directConnection: true,
      serverSelectionTimeoutMS: PROBE_TIMEOUT_MS,
      connectTimeoutMS: PROBE_TIMEOUT_MS,
      maxPoolSize: 1,
    });
    try {
      await client.db('admin').command({ ping: 1 });
    } finally {
      await client.close();
    }
  };
}

/**
 * Retries `probe` until it passes, `stopped` settles (the process exited) or the timeout
 * passes; the last probe error is the rejection's cause.
 */
export async function waitReady(probe: Probe, timeoutMs: number, stopped: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void stopped.then(
    () => (gone = true),
    () => (gone = true),
  );
  let lastError: unknown;
  for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
    if (gone) throw new Error('exited before it was ready', { cause: lastError });
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() + delay > deadline) {
      throw new Error(`not ready after ${timeoutMs} ms`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
