import { InvalidArgumentError, type Command } from 'commander';
import { cliContext, endpointsFor, withAccounts } from '../context.js';

// Loaded by the actions that use them (see services/cli/main.ts).
const bus = () => import('../../../shared/bus/index.js');
const redriveModule = () => import('../../../shared/app/redrive/index.js');

const out = (line: string): boolean => process.stdout.write(`${line}\n`);

interface FilterOptions {
  code: string[];
  since?: string;
  until?: string;
  account?: string;
  limit?: number;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer >= 1');
  return n;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The selection options `tally dlq` and `tally dlq redrive` share. */
function withFilters(command: Command): Command {
  return command
    .option('--code <code>', 'only this dead-letter code (repeat, or comma-separate, for several)', collect, [])
    .option('--since <rfc3339>', 'only dead letters stored at or after this instant')
    .option('--until <rfc3339>', 'only dead letters stored before this instant')
    .option('--account <id>', 'only records of this account')
    .option('--limit <n>', 'at most N dead letters, oldest first', positive);
}

async function filterOf(o: FilterOptions) {
  const { parseDeadLetterFilter } = await redriveModule();
  return parseDeadLetterFilter({
    codes: o.code,
    ...(o.since ? { since: o.since } : {}),
    ...(o.until ? { until: o.until } : {}),
    ...(o.account ? { account: o.account } : {}),
  });
}

/** `tally dlq` (browse, count) and `tally dlq redrive` (issue 20). */
export function registerDlqCommands(program: Command): void {
  const dlq = withFilters(program.command('dlq'))
    .description('NDJSON of the dead letters (code, subject, original payload), oldest first; --counts: counts by code and by day')
    .option('--counts', 'print {"total", "by_code", "by_day"} instead of the dead letters')
    .action(async (o: FilterOptions & { counts?: boolean }) => {
      const filter = await filterOf(o);
      const { config } = await cliContext('tally-dlq');
      const { DLQ_HEADERS, connectBus, countDeadLetters, scanDeadLetters } = await bus();
      const endpoints = await endpointsFor(config);
      const nats = await connectBus(endpoints.natsUrl, 'tally-dlq', endpoints.natsSecurity);
      try {
        if (o.counts) {
          out(JSON.stringify(await countDeadLetters(nats, filter)));
          return;
        }
        let n = 0;
        for await (const m of scanDeadLetters(nats, filter)) {
          out(
            JSON.stringify({
              code: m.headers?.get(DLQ_HEADERS.code),
              subject: m.headers?.get(DLQ_HEADERS.subject),
              payload: m.string(),
              message: m.headers?.get(DLQ_HEADERS.message),
              received_at: m.headers?.get(DLQ_HEADERS.receivedAt),
              seq: m.seq,
            }),
          );
          if (++n >= (o.limit ?? Infinity)) break;
        }
      } finally {
        await nats.close();
      }
    });

  withFilters(dlq.command('redrive'))
    .description(
      'validate the selected dead letters again under the current configuration and charge those that pass, each at most once; prints the report. Needs a selection: a filter, or --all',
    )
    .option('--all', 'every dead letter (without a filter or --all the command refuses: never "everything" by accident)')
    .option('--dry-run', 'preview: what would be charged (and its USD total) and what stays dead; nothing is sent')
    .option('--timeout <ms>', "how long to wait for each job's shard owner", positive, 60_000)
    .action(async (o: FilterOptions & { all?: boolean; dryRun?: boolean; timeout: number }) => {
      const { requireSelection } = await redriveModule();
      requireSelection(
        { codes: o.code, ...(o.since ? { since: o.since } : {}), ...(o.until ? { until: o.until } : {}), ...(o.account ? { account: o.account } : {}) },
        o.all === true,
      );
      const filter = await filterOf(o);
      await withAccounts('tally-dlq-redrive', async (opened, config) => {
        const { logger } = await cliContext('tally-dlq-redrive');
        const [{ connectBus }, { ShardQueues, redisAuth, redisConnection }, { redrive, reportJson }] = await Promise.all([
          bus(),
          import('../../../shared/queue/index.js'),
          redriveModule(),
        ]);
        const endpoints = await endpointsFor(config);
        const nats = await connectBus(endpoints.natsUrl, 'tally-dlq-redrive', endpoints.natsSecurity);
        const redis = redisConnection(endpoints.redisUrl, redisAuth(config));
        redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
        const queues = new ShardQueues(redis, config.mongoDb, config.shards, logger);
        try {
          const report = await redrive(
            { priceBook: config.priceBook, ladder: config.ladder, lateArrivalDays: config.lateArrivalDays, jobTimeoutMs: o.timeout },
            { bus: nats, db: opened.db, queues, logger, firstPaidAt: async (id) => (await opened.accounts.account(id))?.first_paid_at?.getTime() ?? null },
            { filter, dryRun: o.dryRun === true, by: 'cli', ...(o.limit !== undefined ? { limit: o.limit } : {}) },
          );
          out(JSON.stringify(reportJson(report)));
        } finally {
          await queues.close();
          redis.disconnect();
          await nats.close();
        }
      });
    });
}
