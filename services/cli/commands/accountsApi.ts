import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../../shared/config/index.js';
import { parseRfc3339, perVmAuditCostMicros, toJsonMicros, type Plan } from '../../../shared/domain/index.js';
import { cliContext, endpointsFor } from '../context.js';

function planLine(plan: Plan) {
  return {
    id: plan.id,
    price_micros: toJsonMicros(plan.priceMicros),
    vm_count: plan.vmCount,
    period_days: plan.periodDays,
    per_vm_audit_cost_micros: toJsonMicros(perVmAuditCostMicros(plan)),
  };
}

/** `tally ladder-tick --once`, `tally plans validate` (SPEC 8, 10, 13). */
export function registerAccountsCommands(program: Command): void {
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
