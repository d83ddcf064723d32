/**
 * HTTP ingest (issue 31): `clients` producers post the stream to `POST /v1/usage` in
 * requests of `batch` records (JSON arrays) with a producer key, each sending its next
 * request when the last is answered, while the pipeline charges what JetStream acked. Timed
 * from the first request to the last answer (the endpoint's rate: every record acked by
 * JetStream) and to settled (`pending` 0: every record charged and readable).
 */
import type { Bus } from '../../shared/bus/index.js';
import type { AccountReader } from '../../shared/readModel/index.js';
import type { RecordedLine } from '../support/stream.js';
import { waitSettled } from './endToEnd.js';
import { httpLoad, send, type LoadResult } from './httpLoad.js';
import { Agent } from 'node:http';

export interface HttpIngestResult {
  records: number;
  batch: number;
  clients: number;
  /** First request to last answer: the endpoint's rate. */
  acked_s: number;
  acked_per_s: number;
  /** First request to settled: the pipeline's rate with HTTP in front. */
  settled_s: number;
  settled_per_s: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  requests: LoadResult;
}

export interface HttpIngestOptions {
  api: { url: string; adminToken: string };
  bus: Bus;
  reader: AccountReader;
  lines: readonly RecordedLine[];
  /** @defaultValue 4 */
  clients?: number;
  /** @defaultValue 1000 */
  batch?: number;
}

export async function httpIngest(o: HttpIngestOptions): Promise<HttpIngestResult> {
  const batch = o.batch ?? 1000;
  const clients = o.clients ?? 4;
  const agent = new Agent({ keepAlive: false });
  const created = await send(agent, new URL(o.api.url), {
    method: 'POST',
    path: '/v1/admin/producer-keys',
    headers: { authorization: `Bearer ${o.api.adminToken}` },
  });
  agent.destroy();
  if (created.status !== 201) throw new Error(`producer key: HTTP ${created.status} ${created.text}`);
  const key = (JSON.parse(created.text) as { key: string }).key;
  // The payloads are the records' own text: the body is their JSON array, built before the clock starts.
  const bodies: string[] = [];
  for (let i = 0; i < o.lines.length; i += batch)
    bodies.push(
      `[${o.lines
        .slice(i, i + batch)
        .map((l) => l.payload)
        .join(',')}]`,
    );
  const counts = { accepted: 0, duplicates: 0, rejected: 0 };
  const started = performance.now();
  const requests = await httpLoad({
    url: o.api.url,
    clients,
    next: (i) => (i < bodies.length ? { method: 'POST', path: '/v1/usage', body: bodies[i]!, headers: { authorization: `Bearer ${key}` } } : null),
    onAnswer: (_i, status, body) => {
      if (status !== 200) return;
      const answer = body as { accepted: number; duplicates: number; rejected: unknown[] };
      counts.accepted += answer.accepted;
      counts.duplicates += answer.duplicates;
      counts.rejected += answer.rejected.length;
    },
  });
  const acked = (performance.now() - started) / 1000;
  await waitSettled(o.bus, o.reader);
  const settled = (performance.now() - started) / 1000;
  const round1 = (x: number): number => Math.round(x * 10) / 10;
  return {
    records: o.lines.length,
    batch,
    clients,
    acked_s: round1(acked),
    acked_per_s: Math.round(o.lines.length / acked),
    settled_s: round1(settled),
    settled_per_s: Math.round(o.lines.length / settled),
    ...counts,
    requests,
  };
}
