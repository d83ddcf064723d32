import type { MsgHdrs } from '@nats-io/transport-node';
import type { Bus } from './connect.js';
import { readStream } from './readStream.js';
import { DLQ_HEADERS, DLQ_STREAM, dlqSubject } from './subjects.js';

/** How far back a code-filtered listing looks (stream sequences), so one request stays bounded. */
export const DEAD_LETTER_SCAN_WINDOW = 5000;

/** A dead letter as the dashboard shows it: the bridge's headers and the original bytes. */
export interface DeadLetterView {
  seq: number;
  code: string;
  message: string;
  subject: string;
  /** When the bridge rejected it. */
  received_at: string | null;
  /** USAGE stream sequence of the original message. */
  usage_seq: number | null;
  stored_at: string;
  payload_bytes: number;
  /** UTF-8 text, or base64 when the bytes are not valid UTF-8 (shown as such, never mangled). */
  payload_encoding: 'utf8' | 'base64';
  payload: string;
  /** The listing carries a preview; GET …/dead-letters/:seq the whole payload. */
  truncated: boolean;
}

const PREVIEW_CHARS = 160;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(data: Uint8Array): { encoding: 'utf8' | 'base64'; text: string } {
  try {
    return { encoding: 'utf8', text: utf8.decode(data) };
  } catch {
    return { encoding: 'base64', text: Buffer.from(data).toString('base64') };
  }
}

export function deadLetterView(seq: number, subject: string, headers: MsgHdrs | undefined, data: Uint8Array, storedAt: Date, preview: boolean): DeadLetterView {
  const payload = decode(data);
  const truncated = preview && payload.text.length > PREVIEW_CHARS;
  const usageSeq = Number(headers?.get(DLQ_HEADERS.streamSeq) ?? '');
  return {
    seq,
    code: headers?.get(DLQ_HEADERS.code) || subject.split('.').pop() || 'unknown',
    message: headers?.get(DLQ_HEADERS.message) ?? '',
    subject: headers?.get(DLQ_HEADERS.subject) ?? '',
    received_at: headers?.get(DLQ_HEADERS.receivedAt) || null,
    usage_seq: Number.isSafeInteger(usageSeq) && usageSeq > 0 ? usageSeq : null,
    stored_at: storedAt.toISOString(),
    payload_bytes: data.length,
    payload_encoding: payload.encoding,
    payload: truncated ? payload.text.slice(0, PREVIEW_CHARS) : payload.text,
    truncated,
  };
}

/**
 * The latest `limit` dead letters, newest first, optionally of one code. Bounded: without
 * a code it reads exactly the last `limit` messages; with one, at most the
 * DEAD_LETTER_SCAN_WINDOW sequences up to that code's last message.
 */
export async function latestDeadLetters(bus: Bus, options: { code?: string; limit: number }): Promise<DeadLetterView[]> {
  const info = await bus.jsm.streams.info(DLQ_STREAM);
  if (info.state.messages === 0) return [];
  let last = info.state.last_seq;
  let window = options.limit;
  if (options.code !== undefined) {
    const newest = await bus.jsm.streams.getMessage(DLQ_STREAM, { last_by_subj: dlqSubject(options.code) }).catch(() => null);
    if (!newest) return [];
    last = newest.seq;
    window = DEAD_LETTER_SCAN_WINDOW;
  }
  const kept: DeadLetterView[] = [];
  const reader = readStream(bus.js, bus.jsm, DLQ_STREAM, {
    startSeq: Math.max(1, last - window + 1),
    lastSeq: last,
    ...(options.code !== undefined ? { filter: dlqSubject(options.code) } : {}),
  });
  for await (const msg of reader) {
    kept.push(deadLetterView(msg.seq, msg.subject, msg.headers, msg.data, new Date(Math.floor(msg.info.timestampNanos / 1e6)), true));
    if (kept.length > options.limit) kept.shift();
  }
  return kept.reverse();
}

/** One dead letter with its whole payload, or null when the stream no longer holds it. */
export async function deadLetterAt(bus: Bus, seq: number): Promise<DeadLetterView | null> {
  const msg = await bus.jsm.streams.getMessage(DLQ_STREAM, { seq }).catch(() => null);
  return msg ? deadLetterView(msg.seq, msg.subject, msg.header, msg.data, msg.time, false) : null;
}

/** Dead letters stored per code: the stream's per-subject counts, one request however many there are. */
export async function deadLetterCounts(bus: Bus): Promise<Record<string, number>> {
  const info = await bus.jsm.streams.info(DLQ_STREAM, { subjects_filter: 'dlq.usage.>' });
  const counts: Record<string, number> = {};
  for (const [subject, n] of Object.entries(info.state.subjects ?? {})) counts[subject.slice('dlq.usage.'.length)] = n;
  return counts;
}
