/**
 * The state-at-scale figures of issue 21 that come from outside the pipeline's own phases:
 * `tally accounts` as a user runs it, the store documents the worker writes per record,
 * the dedup horizon's bytes per id
 * (test/bench/horizon.ts in a child process) and the 5M-id takeover (test/bench/takeover.ts,
 * when it exists).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import type { AccountReadModel } from '../../shared/readModel/index.js';
import { COLLECTIONS, type CheckpointDoc } from '../../shared/store/internal.js';
import { ROOT } from './harness.js';

/** Runs a command to completion; of its stdout only the last line is kept. */
async function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; last: string; stderr: string }> {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-65_536)));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
  const [code] = (await once(child, 'exit')) as [number | null];
  const last = tail.trim().split('\n').pop() ?? '';
  return { code, last, stderr };
}

/**
 * `node bin/tally.js <args> > FILE` with the services' environment: seconds, and the lines
 * of FILE (a file, like the issue's `> /dev/null`: no reader paces the command's writes).
 */
export async function timeTallyCommand(env: NodeJS.ProcessEnv, file: string, args: readonly string[]): Promise<{ seconds: number; lines: number }> {
  const out = await open(file, 'w');
  const started = performance.now();
  let code: number | null;
  let stderr = '';
  try {
    const child = spawn(process.execPath, [join(ROOT, 'bin/tally.js'), ...args], { cwd: ROOT, env, stdio: ['ignore', out.fd, 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
    [code] = (await once(child, 'exit')) as [number | null];
  } finally {
    await out.close();
  }
  const seconds = Math.round((performance.now() - started) / 10) / 100;
  if (code !== 0) throw new Error(`tally ${args.join(' ')} exited ${code}: ${stderr}`);
  let lines = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) for (const byte of chunk) if (byte === 10) lines++;
  return { seconds, lines };
}

export interface WorkerWrites {
  log: number;
  projections: number;
  checkpoints: number;
  events: number;
}

/** The store documents a worker wrote in its life, from the "worker stopped" line it logs on a graceful stop. */
export function workerWrites(log: string): WorkerWrites | null {
  const line = log
    .split('\n')
    .filter((l) => l.includes('"worker stopped"'))
    .pop();
  return line ? (JSON.parse(line) as { writes: WorkerWrites }).writes : null;
}

/** Documents per 1,000 records, in all and by kind. */
export function docsPer1000(writes: WorkerWrites | null, records: number): { total: number | null } & Record<keyof WorkerWrites, number | null> {
  const per = (n: number | undefined): number | null => (n === undefined || records === 0 ? null : Math.round((n / records) * 10_000) / 10);
  const total = writes ? writes.log + writes.projections + writes.checkpoints + writes.events : undefined;
  return {
    total: per(total),
    log: per(writes?.log),
    projections: per(writes?.projections),
    checkpoints: per(writes?.checkpoints),
    events: per(writes?.events),
  };
}

const parseLines = <T>(log: string, msg: string): (T & { time: number })[] =>
  log
    .split('\n')
    .filter((l) => l.includes(`"${msg}"`))
    .map((l) => {
      const o = JSON.parse(l) as T & { time: number | string };
      return { ...o, time: typeof o.time === 'number' ? o.time : Date.parse(o.time) };
    });

/**
 * The store documents the worker writes during one phase, counted the way its own
 * counters count them (ShardOwner.writes; the process reports them only when it stops):
 * log entries from the read model's positions (one log step each), projection snapshot
 * documents (chunks and manifest) from its "projections flushed" lines (LOG_LEVEL debug,
 * one per shard snapshot) up to the end of the first flush after the phase, checkpoints by watching the 16-document checkpoint collection, billing events by
 * counting their collection.
 */
export class PhaseWrites {
  private logSeq = 0;
  private events = 0;
  private from = 0;
  private checkpoints = 0;
  private seen = new Map<number, number>();
  private polling: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly model: AccountReadModel,
  ) {}

  private async positionsSum(): Promise<number> {
    return (await this.model.positions()).reduce((n, p) => n + (p?.seq ?? 0), 0);
  }

  private async pollCheckpoints(): Promise<void> {
    for (const c of await this.db.collection<CheckpointDoc>(COLLECTIONS.checkpoints).find({}).toArray()) {
      if (this.seen.get(c._id) !== c.seq) this.checkpoints++;
      this.seen.set(c._id, c.seq);
    }
  }

  private async watchCheckpoints(): Promise<void> {
    while (!this.stopped) {
      await this.pollCheckpoints();
      // Each shard checkpoints at most every 10 s (CHECKPOINT_EVERY_MS): a second apart sees each one.
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async start(): Promise<void> {
    this.from = Date.now();
    this.logSeq = await this.positionsSum();
    this.events = await this.db.collection(COLLECTIONS.events).countDocuments();
    for (const c of await this.db.collection<CheckpointDoc>(COLLECTIONS.checkpoints).find({}).toArray()) this.seen.set(c._id, c.seq);
    this.polling = this.watchCheckpoints();
  }

  /** Once the phase has settled at `settledAt`: waits (up to `waitMs`) for the worker's next flush, which writes what the phase left unwritten. */
  async stop(workerLog: () => string, settledAt: number, waitMs: number): Promise<WorkerWrites & { flushes: number }> {
    const logSeq = (await this.positionsSum()) - this.logSeq;
    const deadline = Date.now() + waitMs;
    const done = () => parseLines(workerLog(), 'projection flush done').filter((f) => f.time >= this.from);
    let flushes = done();
    while (!flushes.some((f) => f.time > settledAt) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      flushes = done();
    }
    const last = flushes.findIndex((f) => f.time > settledAt);
    const through = last < 0 ? Number.POSITIVE_INFINITY : flushes[last]!.time;
    // One line per shard snapshot: its chunk documents and its manifest.
    const snapshots = parseLines<{ chunks: number }>(workerLog(), 'projections flushed').filter((f) => f.time >= this.from && f.time <= through);
    this.stopped = true;
    await this.polling;
    // The flush line comes after its checkpoints: one more look sees them.
    await this.pollCheckpoints();
    const events = (await this.db.collection(COLLECTIONS.events).countDocuments()) - this.events;
    return {
      log: logSeq,
      projections: snapshots.reduce((n, f) => n + f.chunks + 1, 0),
      checkpoints: this.checkpoints,
      events,
      flushes: last < 0 ? flushes.length : last + 1,
    };
  }
}

/** RecordHorizon's bytes per id at `ids`, from test/bench/horizon.ts run here (its Map comparison included). */
export async function horizonBytesPerId(ids: number): Promise<{ ids: number; bytes_per_id: number | null; table_bytes_per_id: number | null }> {
  const r = await run(process.execPath, ['--expose-gc', '--import', 'tsx', join(ROOT, 'test/bench/horizon.ts'), String(ids)], process.env);
  const rows = r.code === 0 && r.last.startsWith('{') ? (JSON.parse(r.last) as { rows: Record<string, number | string>[] }).rows : [];
  const row = rows.find((x) => x['name'] === 'RecordHorizon');
  return {
    ids,
    bytes_per_id: typeof row?.['bytes_per_id'] === 'number' ? row['bytes_per_id'] : null,
    table_bytes_per_id: typeof row?.['table_bytes_per_id'] === 'number' ? row['table_bytes_per_id'] : null,
  };
}

/** What the rollups cost the owner (test/bench/usageCost.ts in a child process): CPU per record, heap per account; null figures if it failed. */
export async function usageCost(records: number, accounts: number, days: number): Promise<Record<string, number | null>> {
  const script = join(ROOT, 'test/bench/usageCost.ts');
  const args = ['--expose-gc', '--import', 'tsx', script, '--records', String(records), '--accounts', String(accounts), '--days', String(days)];
  const r = await run(process.execPath, args, process.env);
  if (r.code !== 0 || !r.last.startsWith('{')) return { failed: null, exit: r.code };
  return JSON.parse(r.last) as Record<string, number>;
}

const TAKEOVER_SCRIPT = join(ROOT, 'test/bench/takeover.ts');

/**
 * The 5M-id takeover: runs test/bench/takeover.ts (`--ids N`) if it exists and reads
 * `takeover_s` from its JSON last line; null with the reason otherwise.
 */
export async function takeoverScript(ids: number): Promise<{ ids: number; seconds: number | null; note: string }> {
  if (
    !(await access(TAKEOVER_SCRIPT).then(
      () => true,
      () => false,
    ))
  )
    return { ids, seconds: null, note: 'test/bench/takeover.ts does not exist on this branch' };
  const r = await run(process.execPath, ['--import', 'tsx', TAKEOVER_SCRIPT, '--ids', String(ids)], process.env);
  const result = r.last.startsWith('{') ? (JSON.parse(r.last) as { takeover_s?: unknown }) : {};
  if (r.code !== 0 || typeof result.takeover_s !== 'number')
    return { ids, seconds: null, note: `takeover.ts exited ${r.code} without takeover_s: ${r.stderr.slice(-300)}` };
  return { ids, seconds: result.takeover_s, note: 'test/bench/takeover.ts' };
}
