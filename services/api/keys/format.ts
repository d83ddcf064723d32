import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An account key is `tk_<key id>_<secret>` (a producer key `tp_...`): the key id (8 random bytes, hex) says which
 * stored hash to compare against, so a lookup never scans hashes; the secret is 32 random
 * bytes (base64url). Only the SHA-256 of the whole key is stored. An unsalted fast hash is
 * enough here because the key carries 256 bits of randomness: salting and slow hashes
 * defend guessable passwords, and no dictionary or brute force reaches a 2^256 space.
 */
const KEY = /^t[kp]_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** `tk_` for an account key, `tp_` for a producer key: a reader (or a secret scanner) tells them apart; the stored hash decides. */
export type KeyPrefix = 'tk' | 'tp';

export interface NewKey {
  keyId: string;
  /** The whole key, shown once to the admin and never stored. */
  key: string;
  /** Hex SHA-256 of `key`: what the store keeps. */
  hash: string;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateKey(prefix: KeyPrefix = 'tk'): NewKey {
  const keyId = randomBytes(8).toString('hex');
  const key = `${prefix}_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { keyId, key, hash: hashKey(key) };
}

/** The key id of a well-formed key, else null (then it is no key: 401 without a store read). */
export function keyIdOf(presented: string): string | null {
  return KEY.exec(presented)?.[1] ?? null;
}

/** Compares the presented key's hash with the stored one in constant time (both are 32 bytes). */
export function keyMatches(presented: string, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  return stored.length === actual.length && timingSafeEqual(stored, actual);
}
