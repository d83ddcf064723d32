/**
 * The chaos run's producers: `tally generate`'s stream (bad records and duplicates
 * included), published at a steady rate with the fuzz inputs mixed in, and a share of
 * records sent again: at once with the same Nats-Msg-Id (JetStream drops it), without one
 * (stored again: the product's dedup), and with the same Nats-Msg-Id after JetStream's
 * duplicate window (stored again). A publish that fails (nats-server restarting) is sent
 * again, with the same Nats-Msg-Id, until JetStream acknowledges it, as a real producer
 * does; what JetStream kept is read back from the stream by the checker, never taken from
 * here.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { StreamGenerator, mulberry32, type GeneratedLine } from '../../services/cli/load/generate.js';
import { recordKeys } from '../../services/cli/load/recordKeys.js';
import { usageMsgId } from '../../shared/bus/index.js';
import type { Config } from '../../shared/config/index.js';
import { fuzzInputs, type FuzzInput } from './fuzz.js';

export interface ProducerOptions {
  js: JetStreamClient;
  records: number;
  accounts: number;
  seed: number;
  /** Records (fuzz inputs included) per second. */
  rate: number;
  /** Bad inputs, spread evenly through the stream. */
  fuzz: Iterator<FuzzInput>;
  fuzzCount: number;
  /** JetStream's duplicate window: late re-sends wait a little longer than this. */
  duplicateWindowMs: number;
  /** Shares of records sent again: same Nats-Msg-Id at once, none, same id after the window. @defaultValue 0.02, 0.01, 0.005 */
  resendSameId?: number;
  resendNoId?: number;
  resendLate?: number;
  /** Share of generated lines that break a rule, and that repeat a recent record (tally generate's --bad-rate, --dup-rate). @defaultValue 0.01, 0.01 */
  badRate?: number;
  dupRate?: number;
  log: (line: string) => void;
}

export interface ProducerReport {
  generated: number;
  fuzz: number;
  /** Publishes JetStream acknowledged (duplicates included), and those it said were duplicates of a Nats-Msg-Id. */
  acked: number;
  duplicate_acks: number;
  resent: { same_id: number; no_id: number; late: number };
  /** Publishes that failed and were sent again. */
  retries: number;
  seconds: number;
}

interface Message {
  subject: string;
  payload: Uint8Array;
  msgId?: string;
}

/** Lines of `tally generate` in chunks, each generated with the clock at its start, so timestamps stay near the publish. */
function* generated(o: ProducerOptions): Generator<GeneratedLine> {
  const CHUNK = 20_000;
  for (let start = 0, k = 0; start < o.records; start += CHUNK, k++) {
    const gen = new StreamGenerator({
      records: Math.min(CHUNK, o.records - start),
      accounts: o.accounts,
      seed: o.seed * 1000 + k,
      now: Date.now(),
      spanSeconds: 60,
      badRate: o.badRate ?? 0.01,
      dupRate: o.dupRate ?? 0.01,
      idPrefix: `s${o.seed}c${k}`,
    });
    yield* gen.lines();
  }
}

const utf8 = new TextEncoder();

export async function produce(o: ProducerOptions): Promise<ProducerReport> {
  const rand = mulberry32(o.seed ^ 0x2545f491);
  const report: ProducerReport = { generated: 0, fuzz: 0, acked: 0, duplicate_acks: 0, resent: { same_id: 0, no_id: 0, late: 0 }, retries: 0, seconds: 0 };
  const inFlight = new Set<Promise<void>>();
  const late: { at: number; m: Message }[] = [];
  const WINDOW = 512;

  const publish = (m: Message): Promise<void> => {
    const p = (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          const ack = await o.js.publish(m.subject, m.payload, { ...(m.msgId !== undefined ? { msgID: m.msgId } : {}), timeout: 5000 });
          report.acked++;
          if (ack.duplicate) report.duplicate_acks++;
          return;
        } catch (err) {
          report.retries++;
          if (attempt % 50 === 0) o.log(`publish failed (${(err as Error).message}); sending again`);
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * (attempt + 1))));
        }
      }
    })().finally(() => inFlight.delete(p));
    inFlight.add(p);
    return p;
  };
  const send = async (m: Message): Promise<void> => {
    while (inFlight.size >= WINDOW) await Promise.race(inFlight);
    void publish(m);
  };

  const total = o.records + o.fuzzCount;
  const fuzzEvery = o.fuzzCount > 0 ? total / o.fuzzCount : Infinity;
  const started = Date.now();
  let nextFuzz = fuzzEvery / 2;
  let sent = 0;
  let lastLog = started;
  const lines = generated(o);
  for (;;) {
    // Pace: message `sent` is due at started + sent / rate.
    const due = started + (sent / o.rate) * 1000;
    const wait = due - Date.now();
    if (wait > 5) await new Promise((r) => setTimeout(r, wait));
    while (late.length > 0 && late[0]!.at <= Date.now()) await send(late.shift()!.m);
    let m: Message;
    let fuzz = false;
    if (sent >= nextFuzz && report.fuzz < o.fuzzCount) {
      const f = o.fuzz.next();
      if (f.done) {
        nextFuzz = Infinity;
        continue;
      }
      nextFuzz += fuzzEvery;
      report.fuzz++;
      fuzz = true;
      m = { subject: f.value.subject, payload: f.value.payload, msgId: `f-${report.fuzz}` };
    } else {
      const next = lines.next();
      if (next.done) break;
      const n = report.generated++;
      // A record's own key (SPEC 3); a bad record that gives none, a key of its own.
      const keys = recordKeys(next.value.payload);
      const msgId = keys.id !== undefined && keys.accountId !== undefined ? usageMsgId(keys.accountId, keys.id) : `m-${o.seed}-${n}`;
      m = { subject: next.value.subject, payload: utf8.encode(next.value.payload), msgId };
    }
    sent++;
    await send(m);
    // Fuzz inputs go once each: two copies of one refused record are one refusal, and which
    // copy the owner refuses depends on the order it meets them.
    const roll = fuzz ? 1 : rand();
    const r1 = o.resendSameId ?? 0.02;
    const r2 = r1 + (o.resendNoId ?? 0.01);
    const r3 = r2 + (o.resendLate ?? 0.005);
    if (roll < r1) {
      report.resent.same_id++;
      await send(m);
    } else if (roll < r2) {
      report.resent.no_id++;
      await send({ subject: m.subject, payload: m.payload });
    } else if (roll < r3) {
      report.resent.late++;
      late.push({ at: Date.now() + o.duplicateWindowMs + 2000, m });
    }
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      o.log(`published ${sent} of ${total} (${report.acked} acked, ${report.retries} retried)`);
    }
  }
  for (const { at, m } of late) {
    const wait = at - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await send(m);
  }
  while (inFlight.size > 0) await Promise.race(inFlight);
  report.seconds = Math.round((Date.now() - started) / 100) / 10;
  return report;
}

/** The chaos and cluster runs' producer: the stream with `fuzzCount` bad inputs mixed in, judged by the run's own config. */
export function produceRun(
  o: Pick<ProducerOptions, 'js' | 'records' | 'accounts' | 'seed' | 'rate' | 'fuzzCount' | 'log'>,
  config: Pick<Config, 'natsDuplicateWindowMs' | 'priceBook' | 'ladder' | 'lateArrivalDays'>,
): Promise<ProducerReport> {
  const { priceBook, ladder, lateArrivalDays } = config;
  const fuzz = fuzzInputs(o.fuzzCount, { seed: o.seed, now: Date.now(), priceBook, ladder, lateArrivalDays });
  return produce({ ...o, duplicateWindowMs: config.natsDuplicateWindowMs, fuzz });
}
