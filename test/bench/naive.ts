/**
 * The strawman tally is compared against: one BullMQ job per record and one MongoDB
 * `updateOne` ($inc on the account document, upserted) per job, priced by the same domain
 * core. It lives here, not in services/ or shared/: `$inc` is exactly what SPEC 11 forbids
 * (FerretDB loses concurrent increments), and measuring that is half the point. It runs in
 * a scratch database and queue, on a subset of the records.
 */
import { Queue, Worker } from 'bullmq';
import type { Config } from '../../shared/config/index.js';
import { priceRecord, validateRecord } from '../../shared/domain/index.js';
import { redisConnection } from '../../shared/queue/index.js';
import { connectMongo } from '../../shared/store/index.js';
import type { Endpoints } from '../../shared/runtime/index.js';
import type { RecordedLine } from '../support/stream.js';

export interface NaiveResult {
  records: number;
  /** From the first job added to the last job completed. */
  per_s: number;
  /** Jobs that failed for good (after BullMQ's retries). */
  failed: number;
  /** Charges the store lost to concurrent read-modify-write (expected total minus stored total), in micros. */
  lost_micros: string;
}

const QUEUE = 'bench-naive';
const DB = 'bench_naive';

export async function naiveDesign(endpoints: Endpoints, config: Config, lines: readonly RecordedLine[], now: number, concurrency = 8): Promise<NaiveResult> {
  const mongo = await connectMongo(endpoints.mongoUrl, DB);
  const accounts = mongo.db.collection<{ _id: string; balance_micros: bigint }>('accounts');
  const producer = redisConnection(endpoints.redisUrl);
  const consumer = redisConnection(endpoints.redisUrl);
  const queue = new Queue<RecordedLine>(QUEUE, { connection: producer });
  let expected = 0n;
  let settled = 0;
  let failed = 0;
  let allSettled: () => void = () => undefined;
  const done = new Promise<void>((r) => (allSettled = r));
  const settle = (): void => {
    if (++settled === lines.length) allSettled();
  };
  const worker = new Worker<RecordedLine>(
    QUEUE,
    async (job) => {
      const v = validateRecord(job.data, { now, lateArrivalDays: config.lateArrivalDays, priceBook: config.priceBook });
      if (!v.ok) return;
      const { chargeMicros } = priceRecord(v.record, null, config.priceBook, config.ladder);
      await accounts.updateOne({ _id: v.record.accountId }, { $inc: { balance_micros: -chargeMicros } }, { upsert: true });
    },
    { connection: consumer, concurrency },
  );
  worker.on('completed', settle);
  worker.on('failed', (job) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      failed++;
      settle();
    }
  });
  try {
    for (const l of lines) {
      const v = validateRecord(l, { now, lateArrivalDays: config.lateArrivalDays, priceBook: config.priceBook });
      if (v.ok) expected -= priceRecord(v.record, null, config.priceBook, config.ladder).chargeMicros;
    }
    const started = performance.now();
    // Added in bulk chunks so the producer is not what is measured; still one job per record.
    for (let i = 0; i < lines.length; i += 500) {
      await queue.addBulk(lines.slice(i, i + 500).map((data) => ({ name: 'usage', data, opts: { attempts: 3, removeOnComplete: true, removeOnFail: true } })));
    }
    await done;
    const seconds = (performance.now() - started) / 1000;
    let stored = 0n;
    for await (const a of accounts.find({})) stored += a.balance_micros;
    return { records: lines.length, per_s: Math.round(lines.length / seconds), failed, lost_micros: (stored - expected).toString() };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
    await mongo.db.dropDatabase();
    await mongo.close();
  }
}
