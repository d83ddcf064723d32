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

/** `tally keys create|list|revoke` (SPEC 13 account keys) and `tally allocations`. */
export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('account keys: create (shown once), list (ids and creation times), revoke');

  keys
    .command('create')
    .argument('<account>', 'account id')
    .description('create a key for the account; prints it once as JSON {account_id, key_id, key, created_at}')
    .action(async (account: string) => {
      const created = await withKeyRing((ring) => ring.create(account));
      out({ account_id: account, key_id: created.keyId, key: created.key, created_at: created.createdAt.toISOString() });
    });

  keys
    .command('list')
    .argument('<account>', 'account id')
    .description("NDJSON of the account's keys that are not revoked: key_id, created_at")
    .action(async (account: string) => {
      for (const k of await withKeyRing((ring) => ring.list(account))) out({ key_id: k.keyId, created_at: k.createdAt.toISOString() });
    });

  keys
    .command('revoke')
    .argument('<account>', 'account id')
    .argument('<key_id>', 'the key id (from keys create or keys list)')
    .description('revoke a key at once; exits 1 when the account has no such key')
    .action(async (account: string, keyId: string) => {
      const revoked = await withKeyRing((ring) => ring.revoke(account, keyId));
      if (revoked === null) {
        process.stderr.write(`tally: account ${account} has no key ${keyId}\n`);
        process.exitCode = 1;
        return;
      }
      out({ account_id: account, key_id: keyId, revoked: true, revoked_at: revoked.revokedAt.toISOString() });
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
