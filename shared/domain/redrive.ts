/**
 * Re-drive of dead letters (issue 20), the pure part: what a dead letter becomes under the
 * current configuration, whether a record may be sent again, and the run's report. No I/O;
 * the runner in shared/app/redrive does the reading, the claims and the sending.
 */
import { recordKey, validateRecord } from './record.js';
import type { PriceBook, UsageRecord } from './types.js';

/** Codes that no change of configuration can cure: their dead letters are never re-driven. */
export const NEVER_REDRIVEN: ReadonlySet<string> = new Set(['malformed_json']);

/** A dead letter as the re-drive sees it. */
export interface DeadLetterInput {
  /** Its code when it was dead-lettered. */
  code: string;
  /** The original subject, `usage.<account_id>`. */
  subject: string;
  payload: Uint8Array | string;
  /**
   * When JetStream stored the dead letter (ms): the server's clock, which no producer
   * sets. Lateness and "future" are judged against it, never against the re-drive time.
   */
  arrivedAt: number;
}

export type Reassessment = { ok: true; record: UsageRecord } | { ok: false; code: string };

/**
 * Validates a dead letter again under the current price book and late-arrival horizon, as
 * of its first arrival: an operator's delay never turns `unpriced` into `too_late`.
 */
export function reassessDeadLetter(dl: DeadLetterInput, ctx: { lateArrivalDays: number; priceBook: PriceBook }): Reassessment {
  if (NEVER_REDRIVEN.has(dl.code)) return { ok: false, code: dl.code };
  const result = validateRecord(
    { subject: dl.subject, payload: dl.payload },
    { now: dl.arrivedAt, lateArrivalDays: ctx.lateArrivalDays, priceBook: ctx.priceBook },
  );
  return result.ok ? result : { ok: false, code: result.code };
}

/** What the store remembers of a record's earlier re-drives. */
export interface RedriveHistory {
  /** A run saw the record settled (charged, or a duplicate of a charge). */
  done: boolean;
  /** Jobs of earlier runs that carried it. */
  jobs: readonly string[];
}

export type SendDecision = 'send' | 'settled';

/**
 * Whether a record that passes validation is sent through the pipeline again. Settled when
 * a run recorded it done, or when a job that carried it has committed (its shard-log entry
 * exists: the record was charged there or found charged before). Otherwise it is sent,
 * which is harmless when an earlier job is still on its way: the shard owner's dedup by
 * (account_id, id) charges whichever commits first and counts the other as a repeat.
 */
export function decideSend(history: RedriveHistory, committedJobs: ReadonlySet<string>): SendDecision {
  if (history.done) return 'settled';
  return history.jobs.some((job) => committedJobs.has(job)) ? 'settled' : 'send';
}

/** The report of a run (issue 20). */
export interface RedriveReport {
  run_id: string;
  dry_run: boolean;
  selected: number;
  charged: number;
  /** Micros charged (a dry run: what would be charged), as a decimal string when past 2^53. */
  charged_micros: bigint;
  /** Passed validation but charged nothing: already charged (same account_id and id). */
  duplicates: number;
  still_dead: Record<string, number>;
}

/** Counts a run's outcomes into its report. */
export class RedriveTally {
  readonly report: RedriveReport;

  constructor(runId: string, dryRun: boolean) {
    this.report = { run_id: runId, dry_run: dryRun, selected: 0, charged: 0, charged_micros: 0n, duplicates: 0, still_dead: {} };
  }

  selected(n = 1): void {
    this.report.selected += n;
  }

  dead(code: string): void {
    this.report.still_dead[code] = (this.report.still_dead[code] ?? 0) + 1;
  }

  /** `n` records charged `micros` together. */
  charged(micros: bigint, n = 1): void {
    this.report.charged += n;
    this.report.charged_micros += micros;
  }

  duplicate(): void {
    this.report.duplicates++;
  }
}

/** The key claims and done markers are stored under: the record's idempotency key (SPEC 3). */
export function redriveKey(record: Pick<UsageRecord, 'accountId' | 'id'>): string {
  return recordKey(record.accountId, record.id);
}
