import type { Command } from 'commander';
import type { KeyRing } from '../../api/index.js';
import { cliContext, endpointsFor, ndjson } from '../context.js';

const out = (value: unknown): boolean => process.stdout.write(`${ndjson(value)}\n`);

/**
 * The key ring on the store and Redis directly, as the API builds it (same namespace), so a
 * revocation from the CLI reaches every API process at once.
 */
async function withKeyRing<T>(run: (keys: KeyRing) => Promise<T>): Promise<T> {
  const { config, logger } = await cliContext('tally-keys');
  const [{ redisAuth, redisConnection }, { connectMongo }, { KeyRing }] = await Promise.all([
    import('../../../shared/queue/index.js'),
    import('../../../shared/store/index.js'),
    import('../../api/index.js'),
  ]);
  const endpoints = await endpointsFor(config);
  const mongo = await connectMongo(endpoints.mongoUrl, config.mongoDb);
  // Fail after two reconnect attempts instead of hanging: a revocation Redis did not take must be retried.
  const redis = redisConnection(endpoints.redisUrl, { ...redisAuth(config), maxRetriesPerRequest: 2 });
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
  try {
    return await run(new KeyRing({ db: mongo.db, redis, namespace: config.mongoDb, logger, clock: Date.now }));
  } finally {
    redis.disconnect();
    await mongo.close();
  }
}

/** An account's keys, or (null) the producer keys: one or the other, never both nor neither. */
function keyOwner(account: string | undefined, producer: boolean | undefined): string | null {
  if (producer === true && account !== undefined) throw new Error('--producer keys belong to no account: leave the account out');
  if (producer !== true && account === undefined) throw new Error('name the account (or --producer for a producer key)');
  return producer === true ? null : (account as string);
}

const ownerFields = (owner: string | null) => (owner === null ? { producer: true } : { account_id: owner });

/** `tally keys create|list|revoke [--producer]` (SPEC 13 account keys, issue 31 producer keys) and `tally allocations`. */
export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('account and producer keys: create (shown once), list (ids and creation times), revoke');

  keys
    .command('create')
    .argument('[account]', 'account id (none with --producer)')
    .option('--producer', 'a producer key: posts usage for any account (POST /v1/usage), reads nothing')
    .description('create a key; prints it once as JSON {account_id | producer, key_id, key, created_at}')
    .action(async (account: string | undefined, opts: { producer?: boolean }) => {
      const owner = keyOwner(account, opts.producer);
      const created = await withKeyRing((ring) => ring.create(owner));
      out({ ...ownerFields(owner), key_id: created.keyId, key: created.key, created_at: created.createdAt.toISOString() });
    });

  keys
    .command('list')
    .argument('[account]', 'account id (none with --producer)')
    .option('--producer', 'the producer keys')
    .description("NDJSON of the account's (or the producer) keys that are not revoked: key_id, created_at")
    .action(async (account: string | undefined, opts: { producer?: boolean }) => {
      const owner = keyOwner(account, opts.producer);
      for (const k of await withKeyRing((ring) => ring.list(owner))) out({ key_id: k.keyId, created_at: k.createdAt.toISOString() });
    });

  keys
    .command('revoke')
    .argument('<account_or_key_id>', 'account id, then the key id; with --producer only the key id')
    .argument('[key_id]', 'the key id (from keys create or keys list)')
    .option('--producer', 'revoke a producer key')
    .description('revoke a key at once; exits 1 when there is no such key')
    .action(async (first: string, second: string | undefined, opts: { producer?: boolean }) => {
      const owner = keyOwner(opts.producer ? undefined : first, opts.producer);
      const keyId = opts.producer ? first : second;
      if (keyId === undefined || (opts.producer && second !== undefined)) throw new Error('keys revoke: <account> <key_id>, or --producer <key_id>');
      const revoked = await withKeyRing((ring) => ring.revoke(owner, keyId));
      if (revoked === null) {
        process.stderr.write(`tally: ${owner === null ? 'there is no producer key' : `account ${owner} has no key`} ${keyId}\n`);
        process.exitCode = 1;
        return;
      }
      out({ ...ownerFields(owner), key_id: keyId, revoked: true, revoked_at: revoked.revokedAt.toISOString() });
    });

  program
    .command('allocations')
    .description('NDJSON of VM allocations (plan, slot, status, expiry, audit cost), of every account or one')
    .option('--account <id>', 'only this account')
    .action(async (opts: { account?: string }) => {
      const { config } = await cliContext('tally-allocations');
      const [{ connectMongo, listAllocations }, { allocationView }] = await Promise.all([
        import('../../../shared/store/index.js'),
        import('../../api/index.js'),
      ]);
      const mongo = await connectMongo((await endpointsFor(config)).mongoUrl, config.mongoDb);
      try {
        for (const a of await listAllocations(mongo.db, opts.account)) out(allocationView(a));
      } finally {
        await mongo.close();
      }
    });
}
