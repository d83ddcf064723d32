import type { JobOutcome, UsageBatchJob, WireRecord } from '../../shared/queue/index.js';

/**
 * The subject a message's ack goes to (JetStream's ack protocol: `+ACK` or a progress
 * `+WPI` published there, as JsMsg.ack() and working() do). The bridge keeps only this of
 * a message until its job settles: a JsMsg with its bytes, headers and parsed info costs
 * ~1 KB, and a bridge holds up to BRIDGE_MAX_IN_FLIGHT of them. The record itself is in
 * the job's data; its original bytes stay in the stream, read back by sequence for the
 * rare record the owner refuses.
 */
export type AckSubject = string;

interface Batch {
  records: WireRecord[];
  acks: AckSubject[];
  /** When the batch started filling (buffered) or was last added to its queue (in flight). */
  since: number;
  /**
   * Since when its messages have gone without progress: the first one's arrival (the
   * others arrived later, so their ack wait started later), then each heartbeat.
   */
  progressAt: number;
}

interface InFlight extends Batch {
  shard: number;
  data: UsageBatchJob;
}

/** What a settled job's messages are owed. */
export interface Settlement {
  /** Acked now: their records are in the shard log. */
  ack: AckSubject[];
  /** Refused by the owner (`amount_out_of_range`): dead-lettered from the stream at `streamSeq`, then acked. */
  refused: { streamSeq: number; ack: AckSubject }[];
}

/** What a job's outcome in Redis calls for. */
export type Verdict = 'settle' | 'wait' | 'readd' | 'remove-and-readd';

export interface BatchBookOptions {
  /** The bridge's id: its jobs' ids start with it, and owners tell it on `tally.done.<bridge>`. */
  bridge: string;
  batchSize: number;
  lingerMs: number;
}

/**
 * The bridge's bookkeeping, without I/O: records batched per shard until full or lingered,
 * batches in flight as jobs with the ack subjects of their messages, and what an outcome
 * means for them. A message is acked once, when its job is found completed (SPEC 9);
 * until then it is held (and heartbeated). The bridge (bridge.ts) does the pulling, the
 * queue adds, the outcome reads and the publishing.
 */
export class BatchBook {
  private readonly buffers = new Map<number, Batch>();
  private readonly inFlight = new Map<string, InFlight>();
  /** Jobs whose outcome is being read (a done message and the poll may ask at once). */
  private readonly verifying = new Set<string>();
  private held = 0;
  private seq = 0;

  constructor(private readonly o: BatchBookOptions) {}

  /** Records validated or queued but not yet acked. */
  get pending(): number {
    return this.held;
  }

  /** Jobs added and not settled. */
  get jobs(): number {
    return this.inFlight.size;
  }

  /** Buffers a valid record for its shard's next batch; true when that batch is full (take it). */
  add(shard: number, record: WireRecord, ack: AckSubject, now: number): boolean {
    let buf = this.buffers.get(shard);
    if (!buf) {
      buf = { records: [], acks: [], since: now, progressAt: now };
      this.buffers.set(shard, buf);
    }
    buf.records.push(record);
    buf.acks.push(ack);
    this.held++;
    return buf.records.length >= this.o.batchSize;
  }

  /** Shards whose partly filled batch has waited `lingerMs`; every buffered shard when `all` (a stop). */
  due(now: number, all = false): number[] {
    return [...this.buffers].filter(([, b]) => b.records.length > 0 && (all || now - b.since >= this.o.lingerMs)).map(([shard]) => shard);
  }

  /** Takes the shard's batch as the next job, in flight from now; null when nothing is buffered. */
  take(shard: number, now: number): { jobId: string; data: UsageBatchJob } | null {
    const buf = this.buffers.get(shard);
    if (!buf || buf.records.length === 0) return null;
    this.buffers.delete(shard);
    const jobId = `${this.o.bridge}-${++this.seq}`;
    const data: UsageBatchJob = { type: 'usage', bridge: this.o.bridge, records: buf.records };
    this.inFlight.set(jobId, { ...buf, shard, data, since: now });
    return { jobId, data };
  }

  /** Job ids in flight, oldest first (the poll's round). */
  jobIds(): string[] {
    return [...this.inFlight.keys()];
  }

  /**
   * Starts reading a job's outcome, unless the id is not in flight (a forged or stale done
   * message, or settled meanwhile), its outcome is being read already, or it was added
   * less than `minAgeMs` ago. Then `endVerify`, whatever the read gave.
   */
  beginVerify(jobId: string, now: number, minAgeMs: number): { shard: number; data: UsageBatchJob } | null {
    const f = this.inFlight.get(jobId);
    if (!f || this.verifying.has(jobId) || now - f.since < minAgeMs) return null;
    this.verifying.add(jobId);
    return { shard: f.shard, data: f.data };
  }

  endVerify(jobId: string): void {
    this.verifying.delete(jobId);
  }

  /**
   * A completed job settles. One Redis lost (`unknown`) or one out of attempts (`failed`) is
   * added again, the failed one removed first, but only by the poll: a done message may
   * arrive for a job not finished in Redis (or be forged), and only the poll waits long
   * enough to tell. Anything else waits.
   */
  static verdict(state: JobOutcome['state'], polled: boolean): Verdict {
    if (state === 'completed') return 'settle';
    if (!polled || (state !== 'unknown' && state !== 'failed')) return 'wait';
    return state === 'failed' ? 'remove-and-readd' : 'readd';
  }

  /** The job was added to its queue again: its age restarts. */
  readded(jobId: string, now: number): void {
    const f = this.inFlight.get(jobId);
    if (f) f.since = now;
  }

  /**
   * The job completed: its messages are acked, except those of the records the owner
   * refused (their positions in the batch), which are dead-lettered first. Null when the
   * job is not in flight (settled already): nothing is acked twice.
   */
  settle(jobId: string, refused: readonly number[] = []): Settlement | null {
    const f = this.inFlight.get(jobId);
    if (!f) return null;
    this.inFlight.delete(jobId);
    const out = new Set(refused);
    const settlement: Settlement = { ack: [], refused: [] };
    f.acks.forEach((ack, i) => {
      if (out.has(i)) settlement.refused.push({ streamSeq: f.records[i]![8] ?? 0, ack });
      else settlement.ack.push(ack);
    });
    this.held -= f.acks.length;
    return settlement;
  }

  /**
   * The ack subjects to heartbeat now: those of every batch held, buffered or in flight,
   * that has gone `minAgeMs` without progress (whose heartbeat is then counted as sent).
   * A batch settled within `minAgeMs` of its first message, as most are, needs none.
   */
  *heartbeatsDue(now: number, minAgeMs: number): Generator<AckSubject> {
    for (const b of [...this.inFlight.values(), ...this.buffers.values()]) {
      if (now - b.progressAt < minAgeMs) continue;
      b.progressAt = now;
      yield* b.acks;
    }
  }
}
