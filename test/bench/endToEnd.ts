/**
 * The end-to-end phase: the stream published by a producer the product did not write (the
 * official NATS Go client, test/support/go-producer) or by `tally replay`'s engine, timed
 * from the first publish to settled, i.e. the condition `tally stats --wait` waits for
 * (`readPending` 0: every message acked by a bridge and every shard's read model loaded;
 * the owners write the model before they complete a job, so settled means readable).
 * Meanwhile `clients` HTTP clients read random accounts from `tally api`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import { readPending } from '../../shared/app/index.js';
import { DAY_MS } from '../../shared/domain/index.js';
import { USAGE_STREAM, type Bus } from '../../shared/bus/index.js';
import type { Config } from '../../shared/config/index.js';
import { shardOf } from '../../shared/queue/index.js';
import { AccountReadModel, AccountReader } from '../../shared/readModel/index.js';
import { runReplay } from '../../services/cli/load/replay.js';
import { goProducer, type GoProducerReport, type ProducerTarget } from '../support/goProducer.js';
import type { RecordedLine } from '../support/stream.js';
import { recordedBatches } from './harness.js';
import { readInChild, type ReaderResult } from './readerProcess.js';

export type Producer = 'go' | 'replay';

export interface EndToEnd {
  producer: Producer;
  records: number;
  /** The producer's own rate: records acked by JetStream per second of publishing. */
  publish_per_s: number;
  /** First publish to settled. */
  seconds: number;
  records_per_s: number;
  /** Stream messages (what JetStream kept after its own Nats-Msg-Id dedup). */
  stream_messages: number;
  /** `GET /v1/accounts/<random account>` from the first publish until settled. */
  reads: ReaderResult;
  /** `GET /v1/accounts/<random account>/usage` over the last 35 days by day, from 2 more clients, alongside `reads`. */
  usage_reads: ReaderResult;
}

/** The read model as the API and `tally stats` read it (services/cli/context.ts openAccounts). */
export function accountReader(redis: Redis, db: Db, config: Config): AccountReader {
  return new AccountReader(new AccountReadModel(redis, config.mongoDb, config.shards), db, config.shards, (id) => shardOf(id, config.shards));
}

/** Polls `tally stats --wait`'s condition every 20 ms until pending is 0. */
export async function waitSettled(bus: Bus, reader: AccountReader, timeoutMs = 1_800_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { pending } = await readPending(bus.jsm, () => reader.status());
    if (pending === 0) return;
    if (Date.now() > deadline) throw new Error(`not settled after ${timeoutMs / 1000} s: pending ${pending}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Writes the lines as a recorded stream (NDJSON, SPEC 13). */
export async function writeRecorded(file: string, lines: readonly RecordedLine[]): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < lines.length; i += 10_000) {
    const chunk =
      lines
        .slice(i, i + 10_000)
        .map((l) => JSON.stringify({ subject: l.subject, payload: l.payload }))
        .join('\n') + '\n';
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Runs the Go producer on a recorded-stream file (no time limit, unlike the tests' publishWithGo). */
async function publishGo(target: ProducerTarget, file: string): Promise<GoProducerReport> {
  const bin = await goProducer();
  const input = await open(file, 'r');
  try {
    const child = spawn(bin, ['-server', target.natsUrl, '-nkey', target.producerNkey], { stdio: [input.fd, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    const last = stdout.trim().split('\n').pop() ?? '';
    if (!last.startsWith('{')) throw new Error(`go-producer exited ${code}: ${stderr.slice(-2000)}`);
    return JSON.parse(last) as GoProducerReport;
  } finally {
    await input.close();
  }
}

export interface EndToEndOptions {
  producer: Producer;
  bus: Bus;
  /** The NATS server and the producers' seed file, for the Go producer. */
  target: ProducerTarget;
  reader: AccountReader;
  lines: readonly RecordedLine[];
  /** The recorded stream of `lines`, for the Go producer. */
  file: string;
  api: { url: string; adminToken: string };
  accounts: number;
  readClients: number;
  readPauseMs: number;
}

export async function endToEnd(o: EndToEndOptions): Promise<EndToEnd> {
  let settled = false;
  const started = performance.now();
  const reads = readAccounts(o, () => settled);
  const usageReads = readAccounts({ ...o, readClients: USAGE_CLIENTS }, () => settled, undefined, usagePath(Date.now()));
  let publish: { acked: number; errors: number; seconds: number };
  let seconds: number;
  try {
    if (o.producer === 'go') {
      publish = await publishGo(o.target, o.file);
    } else {
      const r = await runReplay({ nc: o.bus.nc, lines: recordedBatches(o.lines), window: 4000 });
      publish = { acked: r.acked, errors: r.errors, seconds: r.seconds };
    }
    if (publish.errors > 0) throw new Error(`${publish.errors} publishes failed`);
    await waitSettled(o.bus, o.reader);
    seconds = (performance.now() - started) / 1000;
  } finally {
    settled = true;
  }
  return {
    producer: o.producer,
    records: o.lines.length,
    publish_per_s: Math.round(publish.acked / publish.seconds),
    seconds: Math.round(seconds * 100) / 100,
    records_per_s: Math.round(o.lines.length / seconds),
    stream_messages: (await o.bus.jsm.streams.info(USAGE_STREAM)).state.last_seq,
    reads: await reads,
    usage_reads: await usageReads,
  };
}

/** Clients asking for usage during the end-to-end phase, beside the account readers. */
const USAGE_CLIENTS = 2;

/** An account's daily usage over the 35 days ending with today (issue 29's query), as a path template of `readAccounts`. */
export function usagePath(now: number): string {
  const to = now - (now % DAY_MS) + DAY_MS;
  const range = `from=${new Date(to - 35 * DAY_MS).toISOString()}&to=${new Date(to).toISOString()}`;
  return `/v1/accounts/{account}/usage?window=day&${range}`;
}

/**
 * `GET /v1/accounts/acct-<random>` (or `pathTemplate` with `{account}` so replaced) with the
 * admin token from `readClients` clients until `stop`, in a process of their own
 * (readerProcess.ts); 404s (accounts not charged yet) count as reads.
 */
export function readAccounts(
  o: Pick<EndToEndOptions, 'api' | 'accounts' | 'readClients' | 'readPauseMs'>,
  stop: () => boolean,
  max?: number,
  pathTemplate = '/v1/accounts/{account}',
): Promise<ReaderResult> {
  return readInChild(
    {
      url: o.api.url,
      clients: o.readClients,
      pauseMs: o.readPauseMs,
      headers: { authorization: `Bearer ${o.api.adminToken}` },
      pathTemplate,
      accounts: o.accounts,
      ...(max !== undefined ? { max } : {}),
    },
    stop,
  );
}
