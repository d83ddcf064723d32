import { randomUUID } from 'node:crypto';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../shared/config/index.js';
import { validateRecord, type DeadLetterCode } from '../../shared/domain/index.js';
import { BRIDGE_CONSUMER, USAGE_STREAM, batchDoneSubject, publishDeadLetter, type Bus } from '../../shared/bus/index.js';
import { failpoint } from '../../shared/runtime/index.js';
import { ShardQueues, enqueueUsageBatch, jobOutcome, redisConnection, toWire, type ShardJobResult, type UsageBatchJob } from '../../shared/queue/index.js';
import { deadLetters, recordsReceived } from '../../shared/runtime/index.js';
import { BatchBook, type AckSubject } from './batchBook.js';

/**
 * What the bridge reads of the configuration: MONGO_DB prefixes its Redis keys (shared with
 * the workers and the API); progress heartbeats for held messages go every third of
 * NATS_ACK_WAIT_MS, so a held message never reaches its ack wait.
 */
export type BridgeConfig = Pick<
  Config,
  'shards' | 'mongoDb' | 'priceBook' | 'ladder' | 'lateArrivalDays' | 'bridgeBatchSize' | 'bridgeLingerMs' | 'bridgeMaxInFlight' | 'natsAckWaitMs'
>;

export interface BridgeDeps {
  bus: Bus;
  redisUrl: string;
  /** Options for the bridge's Redis connection (REDIS_SENTINEL_PASSWORD: `redisAuth(config)`). */
  redisOptions?: RedisOptions;
  logger: Logger;
  clock?: () => number;
}

/** Messages per JetStream fetch: enough to fill two default batches per round trip. */
const FETCH_SIZE = 2000;
const ACK = Uint8Array.of(43, 65, 67, 75); // +ACK
const WPI = Uint8Array.of(43, 87, 80, 73); // +WPI

export interface BridgeCounters {
  received: number;
  valid: number;
  dead: Record<string, number>;
  jobs: number;
  acked: number;
  requeued: number;
}

/**
 * NATS JetStream -> BullMQ. Pulls, validates with the domain core, dead-letters bad
 * records, and groups good ones into one job per shard. A message is acked only when its
 * job's shard owner says the batch is in the shard log (or a poll finds the job
 * completed); a job Redis lost is added again. Until then the bridge keeps the messages
 * alive with progress heartbeats; if the bridge dies, JetStream redelivers them and the
 * shard owner's id dedup charges nothing twice.
 */
export class Bridge {
  readonly id = `bridge-${randomUUID().slice(0, 8)}`;
  readonly counters: BridgeCounters = { received: 0, valid: 0, dead: {}, jobs: 0, acked: 0, requeued: 0 };
  /** One connection for every shard queue (a producer never blocks). */
  private readonly redis: Redis;
  private readonly queues: ShardQueues;
  private readonly book: BatchBook;
  private running = false;
  private loop: Promise<void> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private doneSub: Subscription | null = null;
  private readonly clock: () => number;

  constructor(
    private readonly config: BridgeConfig,
    private readonly deps: BridgeDeps,
  ) {
    this.clock = deps.clock ?? Date.now;
    this.redis = redisConnection(deps.redisUrl, deps.redisOptions);
    // Redis away: adds fail and the poll re-adds later; an unheard 'error' would crash the process.
    this.redis.on('error', (err) => deps.logger.warn({ err: err.message }, 'queue connection error'));
    this.queues = new ShardQueues(this.redis, config.mongoDb, config.shards, deps.logger);
    this.book = new BatchBook({ bridge: this.id, batchSize: config.bridgeBatchSize, lingerMs: config.bridgeLingerMs });
  }

  async start(): Promise<void> {
    const { nc, js } = this.deps.bus;
    // A done message is only a hint to look now rather than at the next poll: any NATS
    // client can publish one, so the job's state in Redis decides (SPEC 9).
    this.doneSub = nc.subscribe(batchDoneSubject(this.id), {
      callback: (err, msg) => {
        if (!err) void this.verify(msg.string());
      },
    });
    const consumer = await js.consumers.get(USAGE_STREAM, BRIDGE_CONSUMER);
    this.running = true;
    this.loop = this.pull(consumer);
    this.timers.push(setInterval(() => this.flushDue(), Math.max(5, Math.floor(this.config.bridgeLingerMs / 2))));
    this.timers.push(setInterval(() => void this.poll().catch((err) => this.deps.logger.warn({ err }, 'job poll failed')), 1000));
    this.timers.push(setInterval(() => this.heartbeat(), this.heartbeatEveryMs));
  }

  /** Records validated or queued but not yet acked. */
  get pending(): number {
    return this.book.pending;
  }

  private async pull(consumer: Consumer): Promise<void> {
    while (this.running) {
      const room = this.config.bridgeMaxInFlight - this.book.pending;
      if (room <= 0) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      try {
        const batch = await consumer.fetch({ max_messages: Math.min(FETCH_SIZE, room), expires: 1000 });
        const dead: Promise<void>[] = [];
        for await (const msg of batch) {
          const d = this.accept(msg);
          if (d) dead.push(d);
          if (!this.running) break;
        }
        await Promise.all(dead);
      } catch (err) {
        if (!this.running) break;
        this.deps.logger.warn({ err }, 'fetch failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private accept(msg: JsMsg): Promise<void> | null {
    this.counters.received++;
    recordsReceived.inc();
    const now = this.clock();
    const result = validateRecord(
      { subject: msg.subject, payload: msg.data },
      { now, lateArrivalDays: this.config.lateArrivalDays, priceBook: this.config.priceBook },
    );
    if (!result.ok) return this.deadLetter(msg, result.code, result.message);
    this.counters.valid++;
    const shard = this.queues.shardOf(result.record.accountId);
    if (this.book.add(shard, toWire(result.record, Math.floor(msg.info.timestampNanos / 1e6), msg.seq), ackSubject(msg), now)) this.enqueue(shard);
    return null;
  }

  private flushDue(): void {
    for (const shard of this.book.due(this.clock())) this.enqueue(shard);
  }

  private enqueue(shard: number): void {
    const job = this.book.take(shard, this.clock());
    if (!job) return;
    const { jobId, data } = job;
    this.counters.jobs++;
    void this.add(shard, jobId, data).then(() => failpoint('bridge.after-enqueue'));
  }

  private async add(shard: number, jobId: string, data: UsageBatchJob): Promise<void> {
    try {
      await enqueueUsageBatch(this.queues.forShard(shard), jobId, data);
    } catch (err) {
      // The poll re-adds it: the job is still in flight.
      this.deps.logger.warn({ err, jobId }, 'enqueue failed');
    }
  }

  /**
   * Reads the job's outcome from Redis and settles it when completed; re-adds it when
   * Redis lost it or it ran out of attempts. Unknown job ids (a forged or stale done
   * message) are ignored.
   */
  private async verify(jobId: string, minAgeMs = 0): Promise<void> {
    const f = this.book.beginVerify(jobId, this.clock(), minAgeMs);
    if (!f) return;
    try {
      const outcome = await jobOutcome(this.queues.forShard(f.shard), jobId);
      const verdict = BatchBook.verdict(outcome.state, minAgeMs > 0);
      if (verdict === 'settle') await this.settle(jobId, outcome.state === 'completed' ? outcome.result : undefined);
      else if (verdict !== 'wait') {
        if (verdict === 'remove-and-readd') await (await this.queues.forShard(f.shard).getJob(jobId))?.remove().catch(() => undefined);
        this.counters.requeued++;
        this.deps.logger.warn({ jobId, state: outcome.state }, 're-adding job');
        this.book.readded(jobId, this.clock());
        await this.add(f.shard, jobId, f.data);
      }
    } catch (err) {
      this.deps.logger.warn({ err, jobId }, 'job outcome not read; the poll tries again');
    } finally {
      this.book.endVerify(jobId);
    }
  }

  /**
   * The shard owner has the batch in its log: the messages can go. Records it refused
   * (`amount_out_of_range`) are dead-lettered with their original bytes first, and acked
   * once the dead-letter stream holds them; one not stored stays un-acked and comes back.
   */
  private async settle(jobId: string, result: ShardJobResult | undefined): Promise<void> {
    const settlement = this.book.settle(jobId, result?.refused);
    if (!settlement) return;
    const stored = settlement.refused.map((r) => this.deadLetterStored(r.streamSeq, r.ack));
    for (const subject of settlement.ack) this.deps.bus.nc.publish(subject, ACK);
    this.counters.acked += settlement.ack.length;
    await Promise.all(stored);
  }

  /** A record the owner refused: its original bytes read back from the stream by sequence, dead-lettered, then acked. */
  private async deadLetterStored(streamSeq: number, ack: AckSubject): Promise<void> {
    const stored = await this.deps.bus.jsm.streams.getMessage(USAGE_STREAM, { seq: streamSeq }).catch((err: unknown) => {
      // Not acked: JetStream redelivers it, and the owner refuses it again.
      this.deps.logger.warn({ err, seq: streamSeq }, 'refused record not read back from the stream');
      return null;
    });
    if (stored)
      await this.deadLetter(
        { subject: stored.subject, data: stored.data, seq: streamSeq, ack: () => this.deps.bus.nc.publish(ack, ACK) },
        'amount_out_of_range',
        'the charge would take the balance or a stored sum outside Int64',
      );
  }

  /** Stores one bad record in the dead-letter stream, then acks it. Never rejects. */
  private deadLetter(msg: Pick<JsMsg, 'subject' | 'data' | 'seq' | 'ack'>, code: DeadLetterCode, message: string): Promise<void> {
    this.counters.dead[code] = (this.counters.dead[code] ?? 0) + 1;
    deadLetters.inc({ code });
    return publishDeadLetter(this.deps.bus.js, { code, message, subject: msg.subject, payload: msg.data, streamSeq: msg.seq, receivedAt: this.clock() })
      .then(() => msg.ack())
      .catch((err) => {
        // Not acked: JetStream redelivers it and it is dead-lettered then.
        this.deps.logger.warn({ err, seq: msg.seq }, 'dead letter not stored');
      });
  }

  /** Fallback for a lost done message, a job Redis lost (flushed, restarted empty) or one that failed for good. */
  private async poll(): Promise<void> {
    for (const jobId of this.book.jobIds()) await this.verify(jobId, 3000);
  }

  /**
   * Every third of the ack wait, a progress heartbeat for each batch held half of that
   * since its first message or last heartbeat: a message then waits at most about half
   * the ack wait between two, and batches that settle sooner cost none.
   */
  private heartbeat(): void {
    for (const subject of this.book.heartbeatsDue(this.clock(), this.heartbeatEveryMs / 2)) this.deps.bus.nc.publish(subject, WPI);
  }

  private get heartbeatEveryMs(): number {
    return Math.floor(this.config.natsAckWaitMs / 3);
  }

  /** Stops pulling, hands over what is buffered, waits (bounded) for in-flight jobs to settle. */
  async stop(timeoutMs = 20_000): Promise<void> {
    this.running = false;
    await this.loop;
    for (const shard of this.book.due(this.clock(), true)) this.enqueue(shard);
    const deadline = this.clock() + timeoutMs;
    while (this.book.jobs > 0 && this.clock() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      if (this.book.jobs > 0) await this.poll().catch(() => undefined);
    }
    for (const t of this.timers) clearInterval(t);
    this.doneSub?.unsubscribe();
    await this.queues.close();
    this.redis.disconnect();
    // Whatever is still un-acked is redelivered by JetStream to another bridge.
  }
}

/**
 * The subject a JetStream message is acked on (`$JS.ACK.<stream>.<consumer>...`): the
 * `reply` of nats.js's JsMsgImpl, which its ack() and working() publish to. Not in the
 * JsMsg interface, so checked: a client version without it fails here, loudly, at the
 * first message (every pipeline test).
 */
function ackSubject(msg: JsMsg): AckSubject {
  const reply = (msg as JsMsg & { reply?: unknown }).reply;
  if (typeof reply !== 'string' || !reply.startsWith('$JS.ACK.')) throw new Error(`JetStream message ${msg.seq} has no ack subject`);
  return reply;
}
