/**
 * The engine of `tally export`: the usage stream (or the dead-letter stream) as a recorded
 * stream, so production traffic can be replayed or quoted elsewhere. Streams both ways:
 * messages come from an ordered consumer a batch at a time, lines leave in blocks that
 * wait for `drain`, so memory does not grow with the stream.
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { DLQ_HEADERS, DLQ_STREAM, USAGE_STREAM, readStream, usageSubject } from '../../../shared/bus/index.js';
import { formatRecordedLine } from '../../../shared/domain/index.js';
import { LineWriter } from './lineWriter.js';

export interface ExportOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  output: NodeJS.WritableStream;
  /** The dead-letter stream instead of the usage stream; lines carry the original subject. */
  dlq?: boolean;
  /** Messages JetStream stored at or after this instant (store time, not occurred_at). */
  since?: Date;
  /** Messages stored at or before this instant. */
  until?: Date;
  /** Only this account's messages (subject `usage.<id>`). */
  account?: string;
}

/** Headers a replay should send again: everything the producer set (Nats-Msg-Id above all). */
function headersOf(m: JsMsg): Record<string, string> | undefined {
  if (!m.headers) return undefined;
  const out: Record<string, string> = {};
  for (const k of m.headers.keys()) out[k] = m.headers.get(k);
  return out;
}

export async function runExport(options: ExportOptions): Promise<{ messages: number }> {
  const { js, jsm, output, dlq = false, since, until, account } = options;
  const wanted = account === undefined ? undefined : usageSubject(account);
  const untilMs = until?.getTime();
  const out = new LineWriter(output);
  const source = readStream(js, jsm, dlq ? DLQ_STREAM : USAGE_STREAM, {
    ...(since ? { since } : {}),
    // The dead-letter stream's subjects name the code, not the account: filtered below.
    ...(wanted && !dlq ? { filter: wanted } : {}),
  });
  for await (const m of source) {
    const storedAt = Math.floor(m.info.timestampNanos / 1e6);
    // Store times only grow along a stream, so the first one past `until` ends the range.
    if (untilMs !== undefined && storedAt > untilMs) break;
    const time = new Date(storedAt).toISOString();
    if (dlq) {
      const subject = m.headers?.get(DLQ_HEADERS.subject) ?? '';
      if (wanted !== undefined && subject !== wanted) continue;
      await out.write(formatRecordedLine(subject, m.string(), undefined, { seq: m.seq, time, code: m.headers?.get(DLQ_HEADERS.code) }));
    } else {
      await out.write(formatRecordedLine(m.subject, m.string(), headersOf(m), { seq: m.seq, time }));
    }
  }
  await out.flush();
  return { messages: out.lines };
}
