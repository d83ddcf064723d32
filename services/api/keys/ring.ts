import type { Redis } from 'ioredis';
import { redisGroup } from '../../../shared/redis/index.js';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import {
  insertAccountKey,
  insertKeyRevocation,
  listAccountKeys,
  listProducerKeys,
  listRevokedKeyIds,
  readAccountKey,
  revocationId,
  type KeyDoc,
} from '../../../shared/store/index.js';
import { generateKey, keyIdOf, keyMatches } from './format.js';

export interface KeyRingDeps {
  db: Db;
  /** Holds the revocation set shared by every API process; without it every check reads the store. */
  redis?: Redis | undefined;
  /** Prefix of this deployment's Redis keys (its database name), so deployments sharing a Redis stay apart. */
  namespace: string;
  logger: Logger;
  clock: () => number;
}

/** A verified key: who it belongs to. */
export interface KeyIdentity {
  keyId: string;
  accountId: string;
}

/** A verified producer key: it may post usage for any account and read nothing. */
export interface ProducerIdentity {
  keyId: string;
  producer: true;
}

/** How long the "revocation set is complete" mark lives: the bound on staleness after Redis is restored from an old snapshot. */
const LOADED_TTL_S = 60;
const accountOf = (key: KeyDoc): string | null => (key.kind === 'key' ? key.account_id : null);

/** Key documents are immutable, so caching them is always correct; the bound only caps memory. */
const CACHE_MAX = 10_000;

/**
 * Creates, lists, revokes and verifies account keys and producer keys (account null).
 *
 * Revocation is immediate across API processes: each request asks Redis whether the key id
 * is in the revocation set (one round trip), and revoking adds to that set after the
 * revocation's durable insert. The set is a cache of the store's revocation documents: a mark
 * with a 60 s TTL says it is complete; when the mark is missing (Redis emptied, restarted,
 * or restored from a snapshot) the next check rebuilds the set from the store before
 * answering. If Redis does not answer, the check reads the store instead (fails safe).
 * Key documents themselves never change, so each process caches them by key id; only the
 * revocation is looked up per request.
 */
export class KeyRing {
  private readonly cache = new Map<string, KeyDoc>();
  private readonly setKey: string;
  private readonly loadedKey: string;

  constructor(private readonly deps: KeyRingDeps) {
    // One hash tag: the check reads both keys in one round trip, the rebuild writes both in one transaction.
    this.setKey = `${redisGroup(deps.namespace, 'keys')}:revoked`;
    this.loadedKey = `${this.setKey}:loaded`;
  }

  /** A new key for the account (null: a producer key): the whole key is in the answer and nowhere else. */
  async create(accountId: string | null): Promise<{ keyId: string; key: string; createdAt: Date }> {
    for (;;) {
      const fresh = generateKey(accountId === null ? 'tp' : 'tk');
      const createdAt = new Date(this.deps.clock());
      const doc: KeyDoc =
        accountId === null
          ? { _id: fresh.keyId, kind: 'producer', hash: fresh.hash, created_at: createdAt }
          : { _id: fresh.keyId, kind: 'key', account_id: accountId, hash: fresh.hash, created_at: createdAt };
      // A taken id (2^-64 per pair) just draws another key.
      if ((await insertAccountKey(this.deps.db, doc)) === 'inserted') {
        this.deps.logger.info({ accountId, keyId: fresh.keyId }, accountId === null ? 'producer key created' : 'account key created');
        return { keyId: fresh.keyId, key: fresh.key, createdAt };
      }
    }
  }

  /** The account's keys that are not revoked: ids and creation times only. */
  async list(accountId: string | null): Promise<{ keyId: string; createdAt: Date }[]> {
    const docs = accountId === null ? await listProducerKeys(this.deps.db) : await listAccountKeys(this.deps.db, accountId);
    return docs.map((k) => ({ keyId: k._id, createdAt: k.created_at }));
  }

  /**
   * Revokes a key of the account; null when the account has no such key. Idempotent: a
   * second call answers the first revocation's instant. Throws when Redis does not take the
   * revocation, so the caller retries: the stored revocation alone would reach other
   * processes only when their set is next rebuilt.
   */
  async revoke(accountId: string | null, keyId: string): Promise<{ revokedAt: Date } | null> {
    const found = await readAccountKey(this.deps.db, keyId);
    if (found.key === null || accountOf(found.key) !== accountId) return null;
    let revokedAt = found.revokedAt ?? new Date(this.deps.clock());
    if (found.revokedAt === null) {
      const doc = { _id: revocationId(keyId), kind: 'revocation' as const, key_id: keyId, account_id: accountId, revoked_at: revokedAt };
      if ((await insertKeyRevocation(this.deps.db, doc)) === 'exists') revokedAt = (await readAccountKey(this.deps.db, keyId)).revokedAt ?? revokedAt;
    }
    if (this.deps.redis) await this.deps.redis.sadd(this.setKey, keyId);
    this.deps.logger.info({ accountId, keyId }, accountId === null ? 'producer key revoked' : 'account key revoked');
    return { revokedAt };
  }

  /** The identity behind a presented key, or null: malformed, unknown, wrong secret or revoked. */
  async verify(presented: string): Promise<KeyIdentity | ProducerIdentity | null> {
    const keyId = keyIdOf(presented);
    if (keyId === null) return null;
    const key = await this.keyDoc(keyId);
    if (key === null || !keyMatches(presented, key.hash)) return null;
    if (await this.isRevoked(keyId)) return null;
    return key.kind === 'producer' ? { keyId, producer: true } : { keyId, accountId: key.account_id };
  }

  /** Whether an account key is still usable (sessions of the account page re-check their key on every request). */
  async isActive(keyId: string): Promise<KeyIdentity | null> {
    const key = await this.keyDoc(keyId);
    if (key === null || key.kind !== 'key' || (await this.isRevoked(keyId))) return null;
    return { keyId, accountId: key.account_id };
  }

  private async keyDoc(keyId: string): Promise<KeyDoc | null> {
    const cached = this.cache.get(keyId);
    if (cached) return cached;
    const { key } = await readAccountKey(this.deps.db, keyId);
    if (key === null) return null;
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(keyId, key);
    return key;
  }

  private async isRevoked(keyId: string): Promise<boolean> {
    const redis = this.deps.redis;
    if (!redis) return (await readAccountKey(this.deps.db, keyId)).revokedAt !== null;
    try {
      const [revoked, loaded] = (await redis.pipeline().sismember(this.setKey, keyId).exists(this.loadedKey).exec()) ?? [];
      if (revoked?.[0] || loaded?.[0]) throw revoked?.[0] ?? loaded?.[0];
      if (loaded?.[1] === 1) return revoked?.[1] === 1;
      const ids = await listRevokedKeyIds(this.deps.db);
      const rebuild = redis.multi();
      if (ids.length > 0) rebuild.sadd(this.setKey, ...ids);
      await rebuild.set(this.loadedKey, '1', 'EX', LOADED_TTL_S).exec();
      this.deps.logger.info({ revoked: ids.length }, 'key revocation set rebuilt from the store');
      return ids.includes(keyId);
    } catch (err) {
      this.deps.logger.warn({ err }, 'redis did not answer the revocation check; reading the store');
      return (await readAccountKey(this.deps.db, keyId)).revokedAt !== null;
    }
  }
}
