import type { Db } from 'mongodb';
import { loadShardAccounts, readAccount, type AccountDoc } from '../store/index.js';
import type { AccountReadModel } from './accountReadModel.js';

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
    for (let shard = 0; shard < this.shards; shard++) {
      const docs = (await this.model?.readShard(shard)) ?? [...(await loadShardAccounts(this.db, shard)).latest.values()];
      for (const doc of docs) all.push(doc);
    }
    return all.sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  }

  /**
   * What stats and caches watch: the shards whose model is not loaded (pending, SPEC 9),
   * and a version that moves with every write of any owner.
   */
  async status(): Promise<{ accounts: number; unknownShards: number; version: string }> {
    const positions = this.model ? await this.model.positions() : Array.from({ length: this.shards }, () => null);
    return { accounts: 0, unknownShards: positions.filter((p) => p === null).length, version: positions.join(',') };
  }
}
