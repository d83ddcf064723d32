import type { Command } from 'commander';

// Loaded by the actions that use them (see services/cli/main.ts).
const bus = () => import('../../../shared/bus/index.js');
const store = () => import('../../../shared/store/index.js');
import { cliContext, endpointsFor, ndjson } from '../context.js';

const out = (line: string): boolean => process.stdout.write(`${line}\n`);

export function registerReadCommands(program: Command): void {
  program
    .command('accounts')
    .description('NDJSON of every account: balance, tier, plan and quota')
    .action(async () => {
      const { config } = await cliContext('tally-accounts');
      const { connectMongo, listAccounts } = await store();
      const mongo = await connectMongo((await endpointsFor(config)).mongoUrl, config.mongoDb);
      try {
        for (const a of await listAccounts(mongo.db)) {
          out(ndjson({
            account_id: a._id, balance_micros: a.balance_micros, first_paid_at: a.first_paid_at, last_active_at: a.last_active_at,
            discount_tier: a.discount_tier, current_plan_id: a.current_plan_id, vm_quota_total: a.vm_quota_total,
            vm_quota_used: a.vm_quota_used, vm_quota_period_end: a.vm_quota_period_end, kyc_verified: a.kyc_verified,
          }));
        }
      } finally {
        await mongo.close();
      }
    });

  program
    .command('dlq')
    .description('NDJSON of the dead letters: code, subject, original payload')
    .action(async () => {
      const { config } = await cliContext('tally-dlq');
      const { DLQ_HEADERS, DLQ_STREAM, connectBus, readStream } = await bus();
      const nats = await connectBus((await endpointsFor(config)).natsUrl, 'tally-dlq');
      try {
        for await (const m of readStream(nats.js, nats.jsm, DLQ_STREAM)) {
          out(JSON.stringify({
            code: m.headers?.get(DLQ_HEADERS.code), subject: m.headers?.get(DLQ_HEADERS.subject), payload: m.string(),
            message: m.headers?.get(DLQ_HEADERS.message), received_at: m.headers?.get(DLQ_HEADERS.receivedAt), seq: m.seq,
          }));
        }
      } finally {
        await nats.close();
      }
    });

  program
    .command('stats')
    .description('JSON counts: received, charged, duplicates, dead, pending')
    .action(async () => {
      const { config } = await cliContext('tally-stats');
      const [{ connectBus, readPipelineStats }, { connectMongo }] = await Promise.all([bus(), store()]);
      const endpoints = await endpointsFor(config);
      const nats = await connectBus(endpoints.natsUrl, 'tally-stats');
      const mongo = await connectMongo(endpoints.mongoUrl, config.mongoDb);
      try {
        out(JSON.stringify(await readPipelineStats(nats.jsm, mongo.db)));
      } finally {
        await nats.close();
        await mongo.close();
      }
    });

  program
    .command('verify')
    .description('check balance == sum(ledger) for every account; exits 1 on any mismatch')
    .action(async () => {
      const { config } = await cliContext('tally-verify');
      const { connectMongo, verifyLedger } = await store();
      const mongo = await connectMongo((await endpointsFor(config)).mongoUrl, config.mongoDb);
      try {
        const { accounts, mismatches } = await verifyLedger(mongo.db);
        for (const m of mismatches) out(ndjson(m));
        out(JSON.stringify({ accounts, mismatches: mismatches.length }));
        process.exitCode = mismatches.length === 0 ? 0 : 1;
      } finally {
        await mongo.close();
      }
    });
}
