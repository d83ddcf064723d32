/**
 * The engine of `tally replay`: publishes a recorded stream to JetStream with a bounded
 * window of outstanding acks (one ack at a time would cap a replay at one round trip per
 * record), paced by a token bucket (`rate`) or by occurred_at gaps (`speed`).
 */
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { usageMsgId } from '../../../shared/bus/index.js';
import { parseRecordedLine } from '../../../shared/domain/index.js';
import { SpeedPacer, TokenBucket } from './pacing.js';
import { recordKeys } from './recordKeys.js';

const MSG_ID = 'Nats-Msg-Id';

export interface ReplayOptions {
  js: JetStreamClient;
  /**
   * The recorded lines, one at a time or in batches (see lineBatches). A batch is
   * published without a pause, so the NATS client sends it in a few large writes; with
   * one line per iteration every await lets the client flush a single message, and
   * nats-server then spends several times the CPU per message.
   */
  lines: AsyncIterable<string | readonly string[]>;
  /** Records per second (token bucket); unlimited when absent. */
  rate?: number;
  /** Follow occurred_at gaps, this many times faster; no pacing when absent. */
  speed?: number;
  /**
   * Send Nats-Msg-Id: `<account_id>/<id>` where the record parses (SPEC 3), else the line's
   * own header, if any. @defaultValue true
   */
  msgId?: boolean;
  /** Most publishes awaiting their ack at once. @defaultValue 2000 */
  window?: number;
  /** Called every `progressEvery` lines and at the end. */
  onProgress?: (progress: ReplayProgress) => void;
  /** @defaultValue 1000 */
  progressEvery?: number;
  /** Called just before each publish with the record id (if any) and the wall-clock time: the benchmark's latency probe. */
  onSend?: (id: string | undefined, at: number) => void;
  /** Injected for tests. @defaultValue Date.now */
  clock?: () => number;
  /** Injected for tests. @defaultValue setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export interface ReplayProgress {
  /** Characters of input consumed, newlines included (bytes for ASCII streams). */
  chars: number;
  sent: number;
  acked: number;
}

export interface ReplayReport {
  /** Input lines read, blank ones included. */
  lines: number;
  /** Lines that are not recorded messages (not JSON, no subject or payload); not sent. */
  skipped: number;
  sent: number;
  /** Publishes JetStream acknowledged, duplicates included. */
  acked: number;
  /** Acks saying JetStream already had this Nats-Msg-Id within its duplicate window (not stored again). */
  duplicates: number;
  errors: number;
  first_error?: string;
  seconds: number;
  /** Acked records per second over the whole run. */
  rate: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runReplay(options: ReplayOptions): Promise<ReplayReport> {
  const { js, msgId = true, window = 2000, progressEvery = 1000, clock = Date.now, sleep = defaultSleep } = options;
  const bucket = options.rate === undefined ? null : new TokenBucket(options.rate);
  const pacer = options.speed === undefined ? null : new SpeedPacer(options.speed);
  const started = clock();
  const report: ReplayReport = { lines: 0, skipped: 0, sent: 0, acked: 0, duplicates: 0, errors: 0, seconds: 0, rate: 0 };
  let chars = 0;
  let inFlight = 0;
  // A counter and one waiter, not Promise.race over the window: race is O(window) per publish.
  let roomFreed: (() => void) | null = null;
  // A full window refills once a quarter of it is acked, again so publishes go out in runs.
  const lowWater = Math.floor((window * 3) / 4);
  const settled = (): void => {
    inFlight--;
    if (roomFreed && inFlight <= lowWater) {
      roomFreed();
      roomFreed = null;
    }
  };
  const progress = (): void => options.onProgress?.({ chars, sent: report.sent, acked: report.acked });

  for await (const item of options.lines) {
    for (const line of typeof item === 'string' ? [item] : item) {
      report.lines++;
      chars += line.length + 1;
      const message = parseRecordedLine(line);
      if (message === null) {
        report.skipped++;
        continue;
      }
      const keys = msgId || pacer || options.onSend ? recordKeys(message.payload) : {};
      if (pacer && keys.occurredAt !== undefined) {
        const wait = pacer.delay(keys.occurredAt, clock());
        if (wait > 0) await sleep(wait);
      }
      if (bucket) for (let wait = bucket.take(clock()); wait > 0; wait = bucket.take(clock())) await sleep(wait);
      while (inFlight >= window) await new Promise<void>((r) => (roomFreed = r));

      const { [MSG_ID]: lineMsgId, ...rest } = message.headers;
      // The pair, not a recorded bare id: JetStream's window spans every account of the stream.
      const id = msgId ? (keys.id !== undefined && keys.accountId !== undefined ? usageMsgId(keys.accountId, keys.id) : lineMsgId) : undefined;
      let h;
      if (Object.keys(rest).length > 0) {
        h = natsHeaders();
        for (const [k, v] of Object.entries(rest)) h.set(k, v);
      }
      options.onSend?.(keys.id, clock());
      inFlight++;
      report.sent++;
      js.publish(message.subject, message.payload, { ...(id !== undefined ? { msgID: id } : {}), ...(h ? { headers: h } : {}) }).then(
        (ack) => {
          report.acked++;
          if (ack.duplicate) report.duplicates++;
          settled();
        },
        (err: unknown) => {
          report.errors++;
          report.first_error ??= err instanceof Error ? err.message : String(err);
          settled();
        },
      );
      if (report.sent % progressEvery === 0) progress();
    }
  }
  while (inFlight > 0) await new Promise<void>((r) => (roomFreed = r));
  progress();
  report.seconds = (clock() - started) / 1000;
  report.rate = report.seconds > 0 ? Math.round(report.acked / report.seconds) : report.acked;
  return report;
}
