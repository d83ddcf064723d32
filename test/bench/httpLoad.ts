/**
 * HTTP load from the benchmark process: `clients` concurrent clients, each sending its next
 * request when the previous answer is in (closed loop, keep-alive connections), optionally
 * pausing between requests. Latency is from the request written to the whole body read.
 */
import { Agent, request as httpRequest } from 'node:http';
import { quantile } from './latency.js';

export interface HttpCall {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  clients: number;
  /** The i-th request (i counts from 0 across all clients), or null when there is nothing left to send. */
  next: (i: number) => HttpCall | null;
  /** Stop sending once this returns true (checked before each request). */
  stop?: () => boolean;
  /** Pause of each client between its requests. @defaultValue 0 */
  pauseMs?: number;
  /** Called with each answer (status and parsed JSON body, when it is JSON). */
  onAnswer?: (i: number, status: number, body: unknown) => void;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  /** Answers by HTTP status, and `error` for requests that got no answer. */
  statuses: Record<string, number>;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** One request on `agent`; rejects when no answer came (refused, reset). */
export function send(agent: Agent, base: URL, call: HttpCall): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const body = call.body ?? '';
    const req = httpRequest(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: call.method,
        path: call.path,
        headers: { ...(call.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}), ...call.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function httpLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.clients });
  const base = new URL(o.url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let issued = 0;
  const started = performance.now();
  const client = async (): Promise<void> => {
    for (;;) {
      if (o.stop?.()) return;
      const i = issued++;
      const call = o.next(i);
      if (call === null) return;
      const t0 = performance.now();
      try {
        const { status, text } = await send(agent, base, call);
        latencies.push(performance.now() - t0);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (o.onAnswer) o.onAnswer(i, status, text.startsWith('{') ? JSON.parse(text) : text);
      } catch {
        statuses['error'] = (statuses['error'] ?? 0) + 1;
      }
      if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
    }
  };
  try {
    await Promise.all(Array.from({ length: o.clients }, client));
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const q = (x: number): number | null => (sorted.length === 0 ? null : round1(quantile(sorted, x)));
  return {
    requests: latencies.length,
    seconds: round1(seconds),
    per_s: Math.round(latencies.length / seconds),
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    max_ms: q(1),
    statuses,
  };
}
