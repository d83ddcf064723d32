import type { Db } from 'mongodb';
import { loadShardAccounts, readAccount, type AccountDoc } from '../store/index.js';
import type { AccountReadModel } from './accountReadModel.js';
import type { LogTotals } from '../store/index.js';
import type { RecentHour } from '../domain/index.js';

const byId = (a: AccountDoc, b: AccountDoc): number => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);

export interface ReadModelStatus {
  unknownShards: number;
  version: string;
  totals: LogTotals | null;
}

/**
 * Every read of an account the product serves (API, pages, `tally accounts`, `verify`):
 * from the read model, one Redis command, or from the store's projections for a shard
 * whose model Redis has lost (stats counts such a shard as pending until its owner has
 * written it again).
 */
export class AccountReader {
  /** `model` null: the store's projections only (tests that drive the API without Redis). */
  constructor(
    private readonly model: AccountReadModel | null,
    private readonly db: Db,
    readonly shards: number,
    private readonly shardOf: (accountId: string) => number,
  ) {}

  async account(accountId: string): Promise<AccountDoc | null> {
    const shard = this.shardOf(accountId);
    const doc = await this.model?.read(accountId, shard);
    return doc !== undefined ? doc : readAccount(this.db, accountId, shard);
  }

  /** Every account, sorted by id. */
  async list(): Promise<AccountDoc[]> {
    const all: AccountDoc[] = [];
    for await (const docs of this.byShard()) for (const doc of docs) all.push(doc);
    return all.sort(byId);
  }

  /** Every account, one shard at a time, sorted by id within it: readers that stream hold one shard's accounts, never all. */
  async *byShard(): AsyncGenerator<AccountDoc[]> {
    for (let shard = 0; shard < this.shards; shard++) {
      const docs = (await this.model?.readShard(shard)) ?? [...(await loadShardAccounts(this.db, shard)).latest.values()];
      yield docs.sort(byId);
    }
  }

  /** Every shard's charges per recent hour and kind (the operator's chart); none without a read model. */
  async recentHours(): Promise<RecentHour[]> {
    return (await this.model?.recentHours()) ?? [];
  }

  /**
   * What stats and caches watch: the shards whose model is not loaded (pending, SPEC 9), a
   * version that moves with every write of any owner, and the log's totals when every
   * shard's model has them (null otherwise: stats then sums the log itself).
   */
  async status(): Promise<ReadModelStatus> {
    const positions = this.model ? await this.model.positions() : Array.from({ length: this.shards }, () => null);
    const loaded = positions.filter((p) => p !== null);
    const totals =
      loaded.length === positions.length
        ? { charged: loaded.reduce((n, p) => n + p.charged, 0), duplicates: loaded.reduce((n, p) => n + p.duplicates, 0) }
        : null;
    return { unknownShards: positions.length - loaded.length, version: positions.map((p) => p?.seq ?? '').join(','), totals };
  }
}
