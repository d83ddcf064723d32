/**
 * The engine of `tally replay`: publishes a recorded stream to JetStream with a bounded
 * window of outstanding acks (one ack at a time would cap a replay at one round trip per
 * record), paced by a token bucket (`rate`) or by occurred_at gaps (`speed`). The lines of
 * an input batch go out as one AckedPublisher batch (core publishes, acks counted on one
 * reply subscription: no request, promise and timer per record); a pause for pacing or for
 * room in the window sends what is gathered first, so a paced replay sends chunks of one.
 */
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { AckedPublisher, PublishTimeoutError, usageMsgId, type AckedMessage, type AckedOutcome } from '../../../shared/bus/index.js';
import { parseRecordedLine } from '../../../shared/domain/index.js';
import { SpeedPacer, TokenBucket } from './pacing.js';
import { recordKeys } from './recordKeys.js';

const MSG_ID = 'Nats-Msg-Id';

export interface ReplayOptions {
  /** `connectBus`'s connection (`bus.nc`): the acks come on the services' private inbox prefix. */
  nc: NatsConnection;
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
  /** A batch whose acks are not all in after this long counts the missing ones as errors (js.publish's default). @defaultValue 5000 */
  timeoutMs?: number;
  /** Called when `sent` passes a multiple of `progressEvery` (a batch at a time) and at the end. */
  onProgress?: (progress: ReplayProgress) => void;
  /** @defaultValue 1000 */
  progressEvery?: number;
  /** Called for each record just before its batch is sent, with the record id (if any) and the wall-clock time: the benchmark's latency probe. */
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

const ENCODER = new TextEncoder();

export async function runReplay(options: ReplayOptions): Promise<ReplayReport> {
  const { nc, msgId = true, window = 2000, timeoutMs = 5000, progressEvery = 1000, clock = Date.now, sleep = defaultSleep } = options;
  const bucket = options.rate === undefined ? null : new TokenBucket(options.rate);
  const pacer = options.speed === undefined ? null : new SpeedPacer(options.speed);
  const publisher = new AckedPublisher(nc, timeoutMs);
  const started = clock();
  const report: ReplayReport = { lines: 0, skipped: 0, sent: 0, acked: 0, duplicates: 0, errors: 0, seconds: 0, rate: 0 };
  let chars = 0;
  let inFlight = 0;
  // A counter and one waiter, not Promise.race over the window.
  let roomFreed: (() => void) | null = null;
  // A full window refills once a quarter of it is acked, so publishes go out in runs.
  const lowWater = Math.floor((window * 3) / 4);
  const progress = (): void => options.onProgress?.({ chars, sent: report.sent, acked: report.acked });
  const fail = (count: number, reason: string): void => {
    report.errors += count;
    if (count > 0) report.first_error ??= reason;
  };
  const answered = (count: number, outcome: AckedOutcome): void => {
    report.acked += outcome.stored + outcome.duplicates;
    report.duplicates += outcome.duplicates;
    fail(outcome.refused.length, outcome.refused[0]?.reason ?? '');
    inFlight -= count;
    if (roomFreed && inFlight <= lowWater) {
      roomFreed();
      roomFreed = null;
    }
  };

  // The messages gathered and not yet sent, with their record ids for onSend.
  let chunk: AckedMessage[] = [];
  let ids: (string | undefined)[] = [];
  const send = (): void => {
    if (chunk.length === 0) return;
    const messages = chunk;
    const count = messages.length;
    if (options.onSend) for (const id of ids) options.onSend(id, clock());
    chunk = [];
    ids = [];
    inFlight += count;
    const before = report.sent;
    report.sent += count;
    publisher.publishAll(messages).then(
      (outcome) => answered(count, outcome),
      (err: unknown) => {
        if (err instanceof PublishTimeoutError) {
          fail(err.missing, err.message);
          return answered(count, err.answered);
        }
        // Closed, draining, or over max_payload: nothing of the batch is known to be stored.
        fail(count, err instanceof Error ? err.message : String(err));
        answered(count, { stored: 0, duplicates: 0, refused: [] });
      },
    );
    if (Math.floor(report.sent / progressEvery) > Math.floor(before / progressEvery)) progress();
  };
  const pause = async (ms: number): Promise<void> => {
    send();
    await sleep(ms);
  };

  try {
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
          if (wait > 0) await pause(wait);
        }
        if (bucket) for (let wait = bucket.take(clock()); wait > 0; wait = bucket.take(clock())) await pause(wait);
        while (inFlight + chunk.length >= window) {
          if (chunk.length > 0) send();
          else await new Promise<void>((r) => (roomFreed = r));
        }

        const { [MSG_ID]: lineMsgId, ...rest } = message.headers;
        // The pair, not a recorded bare id: JetStream's window spans every account of the stream.
        const id = msgId ? (keys.id !== undefined && keys.accountId !== undefined ? usageMsgId(keys.accountId, keys.id) : lineMsgId) : undefined;
        const m: AckedMessage = { subject: message.subject, payload: ENCODER.encode(message.payload) };
        if (id !== undefined) m.msgId = id;
        if (Object.keys(rest).length > 0) {
          const h = natsHeaders();
          for (const [k, v] of Object.entries(rest)) h.set(k, v);
          m.headers = h;
        }
        chunk.push(m);
        ids.push(keys.id);
      }
      // The batch goes out whole: the client writes it in a few large writes.
      send();
    }
    while (inFlight > 0) await new Promise<void>((r) => (roomFreed = r));
  } finally {
    publisher.close();
  }
  progress();
  report.seconds = (clock() - started) / 1000;
  report.rate = report.seconds > 0 ? Math.round(report.acked / report.seconds) : report.acked;
  return report;
}
