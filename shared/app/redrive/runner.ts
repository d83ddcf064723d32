import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { selectDeadLetterChunks, type Bus, type DeadLetterFilter, type SelectedDeadLetter } from '../../bus/index.js';
import {
  RedriveTally,
  TallyError,
  decideSend,
  formatUsd,
  priceRecord,
  reassessDeadLetter,
  redriveKey,
  type Ladder,
  type PriceBook,
  type RedriveReport,
  type UsageRecord,
} from '../../domain/index.js';
import { toWire, waitForJob, type ShardQueues, type UsageBatchJob } from '../../queue/index.js';
import { failpoint, redriven } from '../../runtime/index.js';
import {
  committedJobs,
  deltasOf,
  finishRedriveRun,
  forEachRecord,
  insertRedriveRun,
  markRedriveDone,
  readJobEntry,
  readRedriveHistory,
  recordRedriveSends,
  redriveSendId,
  shardLogId,
  type RedriveDoneDoc,
} from '../../store/index.js';

export interface RedriveConfig {
  priceBook: PriceBook;
  ladder: Ladder;
  lateArrivalDays: number;
  /** Records per job at most. @defaultValue 1000 */
  batchSize?: number;
  /** Dead letters read, judged and settled at a time: what a run holds in memory. @defaultValue 1000 */
  chunkSize?: number;
  /** How long a run waits for each job's shard owner. @defaultValue 60000 */
  jobTimeoutMs?: number;
}

export interface RedriveDeps {
  bus: Bus;
  db: Db;
  queues: ShardQueues;
  /** first_paid_at (ms) of an account, for the preview's prices; null when it has none. */
  firstPaidAt: (accountId: string) => Promise<number | null>;
  logger: Logger;
  /** @defaultValue Date.now */
  clock?: () => number;
}

export interface RedriveRequest {
  filter: DeadLetterFilter;
  /** At most this many dead letters, oldest first. */
  limit?: number;
  /** Preview: what would be charged and what stays dead; nothing is sent or stored. */
  dryRun: boolean;
  /** Who asked (audit): `admin` over HTTP, `cli` from the command line. */
  by: string;
}

interface Candidate {
  dl: SelectedDeadLetter;
  record: UsageRecord;
  key: string;
}

/** A run id: sortable by time, safe in BullMQ job ids (no ':'). */
export function newRunId(now: number): string {
  return `rd-${now.toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** The report as JSON: micros as a number when safe, else a decimal string; the total in USD too. */
export function reportJson(report: RedriveReport): Record<string, unknown> {
  const m = report.charged_micros;
  return { ...report, charged_micros: m <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(m) : m.toString(), charged_usd: formatUsd(m) };
}

/**
 * Re-drives dead letters (issue 20; docs/decisions/006-redrive.md). Each selected dead
 * letter is validated again under the current configuration as of its first arrival; those
 * that pass go to their shard owner as a usage job, carrying the original USAGE sequence,
 * so the owner's (account_id, id) dedup charges each at most once however many runs send
 * it. Before a job is added its records are written down (`redrive_sends`); a later run
 * sends again only what no committed job carried, so a crash midway is finished by the
 * next run, even past the dedup horizon.
 */
export async function redrive(config: RedriveConfig, deps: RedriveDeps, request: RedriveRequest): Promise<RedriveReport> {
  const clock = deps.clock ?? Date.now;
  const started = clock();
  const runId = newRunId(started);
  const tally = new RedriveTally(runId, request.dryRun);
  const log = deps.logger.child({ redrive: runId });
  const filters = { ...request.filter, ...(request.limit !== undefined ? { limit: request.limit } : {}) };
  if (!request.dryRun) await insertRedriveRun(deps.db, { _id: runId, by: request.by, at: new Date(started), filters, dry_run: false });
  try {
    // Chunk by chunk, each settled before the next is read: memory holds one chunk's
    // payloads, plus one key per distinct record (`seen`, for repeats within the selection).
    const seen = new Set<string>();
    let chunk = 0;
    for await (const selected of selectDeadLetterChunks(deps.bus, request.filter, {
      chunk: config.chunkSize ?? 1000,
      ...(request.limit !== undefined ? { limit: request.limit } : {}),
    })) {
      const toSend = await undecided(deps.db, reassess(selected, config, tally, request.dryRun, seen), tally, request.dryRun);
      if (request.dryRun) {
        for (const c of toSend) tally.charged(priceRecord(c.record, await deps.firstPaidAt(c.record.accountId), config.priceBook, config.ladder).chargeMicros);
      } else {
        await send(config, deps, runId, chunk++, toSend, tally, log);
      }
    }
    if (request.dryRun) return tally.report;
    await finishRedriveRun(deps.db, runId, { finished_at: new Date(clock()), report: reportJson(tally.report) });
    log.info(reportJson(tally.report), 're-drive done');
    return tally.report;
  } catch (err) {
    if (!request.dryRun)
      await finishRedriveRun(deps.db, runId, {
        finished_at: new Date(clock()),
        report: reportJson(tally.report),
        error: err instanceof Error ? err.message : String(err),
      }).catch(() => undefined);
    throw err;
  }
}

/** The candidates no earlier run settled (decideSend); the others are duplicates. */
async function undecided(db: Db, candidates: readonly Candidate[], tally: RedriveTally, dryRun: boolean): Promise<Candidate[]> {
  const history = await readRedriveHistory(
    db,
    candidates.map((c) => c.key),
  );
  const committed = await committedJobs(
    db,
    [...history.values()].flatMap((h) => (h.done ? [] : h.jobs)),
  );
  const toSend: Candidate[] = [];
  for (const c of candidates) {
    if (decideSend(history.get(c.key)!, committed) === 'settled') settle(tally, c, 'duplicate', dryRun);
    else toSend.push(c);
  }
  return toSend;
}

/** Validation under the current configuration; repeats of one (account_id, id) in the selection (`seen`) are duplicates. */
function reassess(selected: readonly SelectedDeadLetter[], config: RedriveConfig, tally: RedriveTally, dryRun: boolean, seen: Set<string>): Candidate[] {
  const out: Candidate[] = [];
  for (const dl of selected) {
    tally.selected();
    const result = reassessDeadLetter({ code: dl.code, subject: dl.subject, payload: dl.payload, arrivedAt: dl.arrivedAt }, config);
    if (!result.ok) {
      tally.dead(result.code);
      if (!dryRun) redriven.inc({ code: dl.code, outcome: 'still_dead' });
      continue;
    }
    const c = { dl, record: result.record, key: redriveKey(result.record) };
    if (seen.has(c.key)) settle(tally, c, 'duplicate', dryRun);
    else out.push(c);
    seen.add(c.key);
  }
  return out;
}

function settle(tally: RedriveTally, c: Candidate, outcome: 'duplicate', dryRun: boolean): void {
  tally.duplicate();
  if (!dryRun) redriven.inc({ code: c.dl.code, outcome });
}

/** One job per shard and batch of a chunk (`chunk`, its index in the run): written down, added, waited for, its entry read for what it charged. */
async function send(
  config: RedriveConfig,
  deps: RedriveDeps,
  runId: string,
  chunk: number,
  toSend: readonly Candidate[],
  tally: RedriveTally,
  log: Logger,
): Promise<void> {
  if (toSend.length === 0) return;
  const clock = deps.clock ?? Date.now;
  const batchSize = config.batchSize ?? 1000;
  const byShard = new Map<number, Candidate[]>();
  for (const c of toSend) {
    const shard = deps.queues.shardOf(c.record.accountId);
    byShard.set(shard, [...(byShard.get(shard) ?? []), c]);
  }
  const jobs: { shard: number; jobId: string; batch: Candidate[] }[] = [];
  for (const [shard, list] of byShard) {
    for (let i = 0; i < list.length; i += batchSize)
      jobs.push({ shard, jobId: `${runId}-${chunk}-${shard}-${i / batchSize}`, batch: list.slice(i, i + batchSize) });
  }
  const now = clock();
  await recordRedriveSends(
    deps.db,
    jobs.flatMap(({ jobId, batch }) =>
      batch.map((c) => ({ _id: redriveSendId(c.key, runId), key: c.key, run: runId, job: jobId, dlq_seq: c.dl.seq, at: new Date(now) })),
    ),
  );
  failpoint('redrive.after-sends');
  let unfinished = 0;
  await Promise.all(
    jobs.map(async ({ shard, jobId, batch }) => {
      const queue = deps.queues.forShard(shard);
      const data: UsageBatchJob = { type: 'usage', bridge: runId, records: batch.map((c) => toWire(c.record, now, c.dl.usageSeq)) };
      await queue.add('usage', data, {
        jobId,
        attempts: 20,
        backoff: { type: 'exponential', delay: 200 },
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: { age: 86_400 },
      });
      failpoint('redrive.after-add');
      const outcome = await waitForJob(queue, jobId, config.jobTimeoutMs ?? 60_000, 100);
      if (outcome.state !== 'completed') {
        log.warn({ jobId, state: outcome.state }, 're-drive job did not finish');
        unfinished += batch.length;
        return;
      }
      const refused = new Set(outcome.result?.refused ?? []);
      const seq = outcome.result?.seq;
      const entry = await readJobEntry(deps.db, seq === null || seq === undefined ? null : shardLogId(shard, seq), jobId);
      const charged = new Set<string>();
      if (entry) forEachRecord(entry, (account, id) => charged.add(redriveKey({ accountId: account, id })));
      // The entry holds this job's records only: its deltas are what the job charged.
      const micros = entry ? deltasOf(entry).reduce((sum, d) => sum - d.d, 0n) : 0n;
      const done: RedriveDoneDoc[] = [];
      tally.charged(micros, 0);
      batch.forEach((c, i) => {
        if (refused.has(i)) {
          tally.dead('amount_out_of_range');
          redriven.inc({ code: c.dl.code, outcome: 'still_dead' });
          return;
        }
        const outcome = charged.has(c.key) ? 'charged' : 'duplicate';
        if (outcome === 'charged') tally.charged(0n);
        else tally.duplicate();
        redriven.inc({ code: c.dl.code, outcome });
        done.push({ _id: c.key, run: runId, job: jobId, outcome, at: new Date(clock()) });
      });
      await markRedriveDone(deps.db, done);
    }),
  );
  if (unfinished > 0) {
    throw new TallyError(
      'unavailable',
      `${unfinished} re-driven records are queued but their shard owners did not answer within ${(config.jobTimeoutMs ?? 60_000) / 1000} s: is a worker running? Run the re-drive again to settle them (nothing is charged twice)`,
    );
  }
}
