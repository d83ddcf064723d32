import type { JsMsg } from '@nats-io/jetstream';
import type { Bus } from './connect.js';
import { deadLetterView, type DeadLetterView } from './deadLetterViews.js';
import { readStream } from './readStream.js';
import { DLQ_HEADERS, DLQ_STREAM, dlqSubject } from './subjects.js';

/** Which dead letters an operator means (`tally dlq`, GET /v1/admin/dead-letters, a re-drive). */
export interface DeadLetterFilter {
  /** Any of these codes; empty or absent: every code. */
  codes?: readonly string[];
  /** Stored at or after this instant (ms). */
  since?: number;
  /** Stored before this instant (ms). */
  until?: number;
  /** Records of this account only (the original subject's last token). */
  account?: string;
}

/** One dead letter as selected: where it is, what it was, when it first arrived. */
export interface SelectedDeadLetter {
  /** Its sequence in USAGE_DLQ. */
  seq: number;
  code: string;
  /** The original subject, `usage.<account_id>`. */
  subject: string;
  /** USAGE stream sequence of the original message (0: unknown). */
  usageSeq: number;
  /** When JetStream stored it (ms), set by the server. */
  arrivedAt: number;
  payload: Uint8Array;
}

const storedAt = (msg: JsMsg): number => Math.floor(msg.info.timestampNanos / 1e6);

function codeOf(msg: Pick<JsMsg, 'subject' | 'headers'>): string {
  return msg.headers?.get(DLQ_HEADERS.code) || msg.subject.slice('dlq.usage.'.length);
}

function matches(msg: JsMsg, filter: DeadLetterFilter): boolean {
  const at = storedAt(msg);
  if (filter.until !== undefined && at >= filter.until) return false;
  if (filter.since !== undefined && at < filter.since) return false;
  if (filter.account !== undefined) {
    const subject = msg.headers?.get(DLQ_HEADERS.subject) ?? '';
    if (subject.slice(subject.lastIndexOf('.') + 1) !== filter.account) return false;
  }
  return true;
}

/**
 * The dead letters matching `filter`, oldest first, from stream sequence `after + 1` on,
 * up to `lastSeq` (default: the stream's last when the scan starts).
 */
export async function* scanDeadLetters(
  bus: Bus,
  filter: DeadLetterFilter,
  options: { after?: number; lastSeq?: number; headersOnly?: boolean } = {},
): AsyncGenerator<JsMsg> {
  const codes = filter.codes ?? [];
  const reader = readStream(bus.js, bus.jsm, DLQ_STREAM, {
    ...(codes.length > 0 ? { filters: codes.map(dlqSubject) } : {}),
    ...(options.after !== undefined ? { startSeq: options.after + 1 } : filter.since !== undefined ? { since: new Date(filter.since) } : {}),
    ...(options.lastSeq !== undefined ? { lastSeq: options.lastSeq } : {}),
    ...(options.headersOnly ? { headersOnly: true } : {}),
  });
  for await (const msg of reader) {
    if (filter.until !== undefined && storedAt(msg) >= filter.until) return;
    if (matches(msg, filter)) yield msg;
  }
}

/**
 * The dead letters matching `filter` (at most `limit`), with what a re-drive needs, in
 * chunks of at most `chunk`, oldest first: the caller holds one chunk's payloads at a
 * time, however many the stream keeps. Each chunk is read by its own short scan from the
 * previous one's last sequence, so no consumer waits while the caller works on a chunk;
 * dead letters stored after the first chunk was read are left for another run.
 */
export async function* selectDeadLetterChunks(
  bus: Bus,
  filter: DeadLetterFilter,
  options: { chunk: number; limit?: number },
): AsyncGenerator<SelectedDeadLetter[]> {
  const lastSeq = (await bus.jsm.streams.info(DLQ_STREAM)).state.last_seq;
  let left = options.limit ?? Number.MAX_SAFE_INTEGER;
  let after: number | undefined;
  while (left > 0) {
    const out: SelectedDeadLetter[] = [];
    const size = Math.min(options.chunk, left);
    for await (const msg of scanDeadLetters(bus, filter, { ...(after !== undefined ? { after } : {}), lastSeq })) {
      const usageSeq = Number(msg.headers?.get(DLQ_HEADERS.streamSeq) ?? '');
      out.push({
        seq: msg.seq,
        code: codeOf(msg),
        subject: msg.headers?.get(DLQ_HEADERS.subject) ?? '',
        usageSeq: Number.isSafeInteger(usageSeq) && usageSeq > 0 ? usageSeq : 0,
        arrivedAt: storedAt(msg),
        payload: msg.data,
      });
      if (out.length >= size) break;
    }
    if (out.length === 0) return;
    yield out;
    left -= out.length;
    after = out[out.length - 1]!.seq;
    if (out.length < size || after >= lastSeq) return;
  }
}

export interface DeadLetterPage {
  dead_letters: DeadLetterView[];
  /** Pass as `after` for the next page; null when the stream holds nothing further. */
  next: string | null;
}

/** One page of dead letters, oldest first, after the cursor `after` (a DLQ sequence, as the previous page's `next`). */
export async function pageDeadLetters(bus: Bus, filter: DeadLetterFilter, page: { limit: number; after?: number }): Promise<DeadLetterPage> {
  const info = await bus.jsm.streams.info(DLQ_STREAM);
  const from = page.after ?? (filter.since === undefined ? 0 : undefined);
  const views: DeadLetterView[] = [];
  let last = page.after ?? 0;
  for await (const msg of scanDeadLetters(bus, filter, from === undefined ? {} : { after: from })) {
    last = msg.seq;
    views.push(deadLetterView(msg.seq, msg.subject, msg.headers, msg.data, new Date(storedAt(msg)), true));
    if (views.length >= page.limit) break;
  }
  const more = views.length > 0 && last < info.state.last_seq;
  return { dead_letters: views, next: more ? String(last) : null };
}

export interface DeadLetterCounts {
  total: number;
  by_code: Record<string, number>;
  /** `YYYY-MM-DD` (UTC) of when stored -> count. */
  by_day: Record<string, number>;
}

/** Dead letters matching `filter`, counted by code and by day (a headers-only scan). */
export async function countDeadLetters(bus: Bus, filter: DeadLetterFilter): Promise<DeadLetterCounts> {
  const counts: DeadLetterCounts = { total: 0, by_code: {}, by_day: {} };
  for await (const msg of scanDeadLetters(bus, filter, { headersOnly: true })) {
    const code = codeOf(msg);
    const day = new Date(storedAt(msg)).toISOString().slice(0, 10);
    counts.total++;
    counts.by_code[code] = (counts.by_code[code] ?? 0) + 1;
    counts.by_day[day] = (counts.by_day[day] ?? 0) + 1;
  }
  return counts;
}
