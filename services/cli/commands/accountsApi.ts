import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../../shared/config/index.js';
import { randomUUID } from 'node:crypto';
import { INT64_MAX, INT64_MIN, parseRfc3339, perVmAuditCostMicros, toJsonMicros, type Plan } from '../../../shared/domain/index.js';
import { cliContext, endpointsFor, ndjson, withAccounts } from '../context.js';

function planLine(plan: Plan) {
  return {
    id: plan.id,
    price_micros: toJsonMicros(plan.priceMicros),
    vm_count: plan.vmCount,
    period_days: plan.periodDays,
    per_vm_audit_cost_micros: toJsonMicros(perVmAuditCostMicros(plan)),
  };
}

/** A signed, non-zero whole number of micros within Int64, as `tally adjust` takes it. */
function adjustmentAmount(text: string): bigint {
  const amount = /^-?[0-9]{1,20}$/.test(text) ? BigInt(text) : null;
  if (amount === null || amount === 0n || amount > INT64_MAX || amount < INT64_MIN) {
    throw new Error(`${text}: the amount is a non-zero whole number of micros within Int64 (negative debits)`);
  }
  return amount;
}

/** `tally ladder-tick --once`, `tally plans validate`, `tally adjust` (SPEC 8, 10, 13). */
export function registerAccountsCommands(program: Command): void {
  program
    .command('adjust')
    .argument('<account>', 'account id')
    .argument('<amount>', 'micros, signed: 2500000 credits 2.50 USD, -2500000 debits it')
    .requiredOption('--reason <text>', 'why (1..500 characters); kept in the ledger and shown to the account')
    .option('--id <adjustment_id>', 'the idempotency key; run again with the same id and it applies once (default: a new id, printed)')
    .description('credit or debit an account as an operator: a ledger entry of kind adjustment, folded by its shard owner (needs a running worker)')
    .allowExcessArguments(false)
    .action(async (account: string, amountText: string, opts: { reason: string; id?: string }) => {
      const amountMicros = adjustmentAmount(amountText);
      if (!/\S/.test(opts.reason) || opts.reason.length > 500) throw new Error('--reason: 1..500 characters, not only spaces');
      await withAccounts('tally-adjust', async ({ db, accounts, redis }, config) => {
        const [{ ShardQueues }, { BillingService, adjustmentView }] = await Promise.all([
          import('../../../shared/queue/index.js'),
          import('../../api/index.js'),
        ]);
        const { logger } = await cliContext('tally-adjust');
        const queues = new ShardQueues(redis, config.mongoDb, config.shards, logger);
        try {
          const billing = new BillingService({ plans: config.plans, kycRequired: config.kycRequired }, { db, queues, accounts, logger });
          const outcome = await billing.adjust({ adjustmentId: opts.id ?? randomUUID(), accountId: account, amountMicros, reason: opts.reason, by: 'cli' });
          const balance = outcome.account?.balance_micros ?? null;
          process.stdout.write(
            `${ndjson({ ...adjustmentView(outcome.value.entry), duplicate: outcome.value.duplicate, folded: outcome.folded, balance_micros: balance })}\n`,
          );
        } finally {
          await queues.close();
        }
      });
    });

  program
    .command('ladder-tick')
    .description('run the ladder tick and quota expiry once (needs running workers), print its report')
    .requiredOption('--once', 'run once and exit (the only mode)')
    .option('--now <rfc3339>', 'run as of this instant instead of the current time (operators, tests)')
    .option('--timeout <ms>', 'how long to wait for the shard owners (default: LADDER_TICK_TIMEOUT_MS)')
    .action(async (opts: { now?: string; timeout?: string }) => {
      const { config, logger } = await cliContext('tally-ladder-tick');
      const [{ runLadderTick }, { ShardQueues, redisAuth, redisConnection }, { connectMongo }] = await Promise.all([
        import('../../../shared/app/index.js'),
        import('../../../shared/queue/index.js'),
        import('../../../shared/store/index.js'),
      ]);
      const now = opts.now === undefined ? Date.now() : parseRfc3339(opts.now);
      if (now === null) throw new Error(`--now ${opts.now}: not an RFC 3339 timestamp with a time zone`);
      const endpoints = await endpointsFor(config);
      const mongo = await connectMongo(endpoints.mongoUrl, config.mongoDb);
      const redis = redisConnection(endpoints.redisUrl, redisAuth(config));
      redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
      const queues = new ShardQueues(redis, config.mongoDb, config.shards, logger);
      try {
        const report = await runLadderTick(
          { queues, db: mongo.db, logger },
          { now, source: 'cli', timeoutMs: opts.timeout === undefined ? config.ladderTickTimeoutMs : Number(opts.timeout) },
        );
        process.stdout.write(`${JSON.stringify(report)}\n`);
        if (!report.complete) {
          process.stderr.write(
            `tally: ${report.shards - report.shards_done} of ${report.shards} shards did not answer: is a worker running (tally up, tally worker)?\n`,
          );
        }
        process.exitCode = report.complete ? 0 : 1;
      } finally {
        await queues.close();
        redis.disconnect();
        await mongo.close();
      }
    });

  program
    .command('plans')
    .description('the plan registry (PLANS_JSON)')
    .command('validate')
    .description('check PLANS_JSON (or --file) and print the plans it defines; exits 1 when invalid')
    .option('--file <path>', 'validate this JSON file instead of PLANS_JSON')
    .action(async (opts: { file?: string }) => {
      // The same parser as every service's start: a file is checked as if it were PLANS_JSON.
      const env = opts.file !== undefined ? { PLANS_JSON: await readFile(opts.file, 'utf8') } : process.env;
      let plans: readonly Plan[];
      try {
        plans = loadConfig(env).plans;
      } catch (err) {
        const problem = err instanceof ConfigError ? err.problems.find((p) => p.variable === 'PLANS_JSON') : undefined;
        if (problem === undefined) throw err;
        process.stderr.write(`tally: ${opts.file ?? 'PLANS_JSON'} is invalid: ${problem.message}\n`);
        process.exitCode = 1;
        return;
      }
      const source = opts.file ?? (env['PLANS_JSON'] ? 'PLANS_JSON' : 'default');
      process.stdout.write(`${JSON.stringify({ valid: true, source, plans: plans.map(planLine) })}\n`);
    });
}
