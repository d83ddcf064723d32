import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisKey } from '../redis/index.js';

const KEY_RELOAD_MS = 1000;

/**
 * The fold requests' signing key: 32 random bytes under `tally:<ns>:fold-key`, made by the
 * first process that needs it (SET NX). A signature that does not verify makes the key be
 * read again (at most once a second): after Redis was emptied, the first reader makes a new
 * key and every process moves to it, the requests in between falling back to fold jobs.
 */
export class FoldSigner {
  private key: Buffer | null = null;
  private loadedAt = -Infinity;
  private loading: Promise<Buffer> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly now: () => number = Date.now,
  ) {}

  private load(): Promise<Buffer> {
    this.loading ??= (async () => {
      const name = redisKey(this.namespace, 'fold-key');
      await this.redis.set(name, randomBytes(32).toString('hex'), 'NX');
      const hex = await this.redis.get(name);
      if (!hex) throw new Error(`${name} vanished while it was read`);
      this.key = Buffer.from(hex, 'hex');
      this.loadedAt = this.now();
      return this.key;
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private mac(key: Buffer, body: Buffer): Buffer {
    return createHmac('sha256', key).update(body).digest();
  }

  async sign(body: Buffer): Promise<Buffer> {
    return this.mac(this.key ?? (await this.load()), body);
  }

  /** Whether `mac` signs `body` under the current key, read again first if it does not and the last read is over a second old. */
  async verify(body: Buffer, mac: Buffer): Promise<boolean> {
    const ok = (key: Buffer): boolean => {
      const expected = this.mac(key, body);
      return mac.length === expected.length && timingSafeEqual(mac, expected);
    };
    const key = this.key ?? (await this.load());
    if (ok(key)) return true;
    if (this.now() - this.loadedAt < KEY_RELOAD_MS) return false;
    return ok(await this.load());
  }

  /** Forgets the key, so the next signature reads it again (the owner said the last one did not verify). */
  forget(): void {
    if (this.now() - this.loadedAt >= KEY_RELOAD_MS) this.key = null;
  }
}
