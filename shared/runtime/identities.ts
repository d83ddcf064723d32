import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { EmbeddedError } from './errors.js';

/** Seed files of the two NATS roles and the Redis password, under DATA_DIR (SPEC 14). */
export const SERVICE_NKEY_FILE = 'service.nk';
export const PRODUCER_NKEY_FILE = 'producer.nk';
export const REDIS_PASSWORD_FILE = 'redis.pass';

/** One NATS nkey user: the seed file its holder connects with, and the public key the server knows it by. */
export interface NkeyUser {
  seedFile: string;
  publicKey: string;
}

/** What the embedded servers require of their clients; generated once, kept across restarts. */
export interface EmbeddedIdentities {
  service: NkeyUser;
  producer: NkeyUser;
  redisPassword: string;
}

/** Reads `path`, or creates it (mode 600) with `make()`'s text when it does not exist yet. */
async function readOrCreate(path: string, make: () => string): Promise<string> {
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    await chmod(path, 0o600);
    return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = make();
  // 'wx': the data folder's lock is held, but a file is never overwritten blindly.
  await writeFile(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return value;
}

async function nkeyUser(dataDir: string, file: string): Promise<NkeyUser> {
  const seedFile = join(dataDir, file);
  const seed = await readOrCreate(seedFile, () => new TextDecoder().decode(createUser().getSeed()));
  try {
    return { seedFile, publicKey: fromSeed(new TextEncoder().encode(seed)).getPublicKey() };
  } catch (err) {
    throw new EmbeddedError(
      'identity_invalid',
      `${seedFile} does not hold an nkey user seed (${(err as Error).message}): restore it, or delete it to make a new identity`,
      { cause: err },
    );
  }
}

/**
 * The services' and the producers' nkey users and the Redis password of the embedded
 * servers under `dataDir`, made at the first start. Only the seed files hold secrets;
 * nats-server is told the public keys.
 */
export async function readOrCreateIdentities(dataDir: string): Promise<EmbeddedIdentities> {
  const [service, producer, redisPassword] = await Promise.all([
    nkeyUser(dataDir, SERVICE_NKEY_FILE),
    nkeyUser(dataDir, PRODUCER_NKEY_FILE),
    readOrCreate(join(dataDir, REDIS_PASSWORD_FILE), () => randomBytes(24).toString('hex')),
  ]);
  if (redisPassword.length < 16) {
    throw new EmbeddedError(
      'identity_invalid',
      `${join(dataDir, REDIS_PASSWORD_FILE)} holds a password shorter than 16 characters: delete it to make a new one`,
    );
  }
  return { service, producer, redisPassword };
}
