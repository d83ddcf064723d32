import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { FOLD_QUEUE, foldSubject } from '../../shared/bus/index.js';
import { encodeAccount, type AccountDoc, type FoldedEntry } from '../../shared/domain/index.js';
import { decodeFoldRequest, encodeFoldReply, FoldSignatureError, type FoldReply } from '../../shared/app/index.js';
import { shardOf, type FoldSigner, type ShardJobResult } from '../../shared/queue/index.js';

interface Waiting {
  msg: Msg;
  entries: FoldedEntry[];
}

export interface FoldDeskOptions {
  nc: NatsConnection;
  shard: number;
  shards: number;
  /** Checks that a request comes from a process that can read Redis (the API). */
  signer: FoldSigner;
  /** The owner's fold: one shard-log entry for all `entries` (ShardOwner.processFolds). */
  fold: (entries: readonly FoldedEntry[], jobId: string) => Promise<ShardJobResult>;
  /** The owner's account as of now (after the fold): sent back with the answer. */
  account: (id: string) => AccountDoc | undefined;
  logger: Logger;
}

/**
 * The fold requests of one shard, taken over core NATS while this process owns it
 * (decision 013). Requests that arrive while a commit is in flight (a usage batch, the
 * previous group) wait and are folded together: one shard-log entry and one read-model
 * write for the whole group (group commit), each requester answered with its own entries'
 * outcome. No request is folded once the desk is closed: those waiting are told so, and
 * the API falls back to the BullMQ fold job, which the next owner takes.
 */
export class FoldDesk {
  private waiting: Waiting[] = [];
  private busy = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private groups = 0;
  private readonly sub: Subscription;
  /** Requests answered and the commits that folded them (requests / commits = the mean group). */
  readonly counts = { requests: 0, commits: 0 };

  constructor(private readonly options: FoldDeskOptions) {
    this.sub = options.nc.subscribe(foldSubject(options.shard), {
      queue: FOLD_QUEUE,
      callback: (err, msg) => {
        if (err) options.logger.warn({ err, shard: options.shard }, 'fold subscription failed');
        else void this.take(msg);
      },
    });
  }

  private async take(msg: Msg): Promise<void> {
    let entries: FoldedEntry[];
    try {
      entries = await decodeFoldRequest(this.options.signer, msg.data);
      const foreign = entries.find((e) => shardOf(e.a, this.options.shards) !== this.options.shard);
      if (foreign) throw new Error(`entry ${foreign.id} is of account ${foreign.a}, not of shard ${this.options.shard}`);
    } catch (err) {
      if (err instanceof FoldSignatureError) this.options.logger.warn({ shard: this.options.shard }, 'fold request refused: bad signature');
      const reply: FoldReply = { error: `bad fold request: ${err instanceof Error ? err.message : String(err)}` };
      this.answer(msg, err instanceof FoldSignatureError ? { ...reply, code: 'bad_signature' } : reply);
      return;
    }
    if (this.closed) {
      this.answer(msg, { error: 'the shard is being handed over' });
      return;
    }
    this.waiting.push({ msg, entries });
    if (!this.busy) void this.drain();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    try {
      while (this.waiting.length > 0 && !this.closed) {
        const group = this.waiting;
        this.waiting = [];
        await this.commit(group);
      }
    } finally {
      this.busy = false;
      this.markIdle();
    }
  }

  private async commit(group: Waiting[]): Promise<void> {
    const { shard, logger } = this.options;
    try {
      const result = await this.options.fold(
        group.flatMap((w) => w.entries),
        `folds-${shard}-${++this.groups}`,
      );
      this.counts.commits++;
      const refused = new Set(result.refused ?? []);
      let first = 0;
      for (const w of group) {
        const mine = w.entries.flatMap((_, i) => (refused.has(first + i) ? [i] : []));
        first += w.entries.length;
        const accounts: Record<string, string> = {};
        for (const { a } of w.entries) {
          const doc = accounts[a] === undefined ? this.options.account(a) : undefined;
          if (doc) accounts[a] = encodeAccount(doc);
        }
        this.answer(w.msg, { refused: mine, accounts });
      }
    } catch (err) {
      logger.warn({ err, shard, requests: group.length }, 'group fold failed; the callers fall back to fold jobs');
      for (const w of group) this.answer(w.msg, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  private answer(msg: Msg, reply: FoldReply): void {
    this.counts.requests++;
    // A requester that gave up has no inbox left to answer: nothing to do then.
    if (msg.reply) msg.respond(encodeFoldReply(reply));
  }

  /**
   * Stops taking requests (the lease is lost or handed over): waiting ones are refused, the
   * group being committed finishes; resolves when it has.
   */
  async close(): Promise<void> {
    if (this.closed) return this.idle;
    this.closed = true;
    this.sub.unsubscribe();
    for (const w of this.waiting) this.answer(w.msg, { error: 'the shard is being handed over' });
    this.waiting = [];
    return this.idle;
  }
}
