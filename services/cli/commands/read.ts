import { InvalidArgumentError, type Command } from 'commander';

// Loaded by the actions that use them (see services/cli/main.ts).
const app = () => import('../../../shared/app/index.js');
const bus = () => import('../../../shared/bus/index.js');
const store = () => import('../../../shared/store/index.js');
const domain = () => import('../../../shared/domain/index.js');

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds >= 0');
  return n;
}
import { cliContext, endpointsFor, ndjson, withAccounts } from '../context.js';
import type { AccountDoc } from '../../../shared/domain/index.js';

const out = (line: string): boolean => process.stdout.write(`${line}\n`);

/**
 * Lines gathered into writes of about 64 KB, each waiting when stdout's buffer is full: a
 * stream of every account never piles up in memory, and a file or a pipe gets one write per
 * chunk (stdout to a file writes synchronously; one write per row cost a system call per row).
 */
class PacedLines {
  private parts: string[] = [];
  private size = 0;

  async push(line: string): Promise<void> {
    this.parts.push(line);
    this.size += line.length + 1;
    if (this.size >= 65_536) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = `${this.parts.join('\n')}\n`;
    this.parts = [];
    this.size = 0;
    if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
}

export function registerReadCommands(program: Command): void {
  program
    .command('accounts')
    .description('NDJSON of every account: balance, tier, plan and quota')
    .action(() =>
      withAccounts('tally-accounts', async ({ accounts }) => {
        for (const a of await accounts.list()) {
          out(
            ndjson({
              account_id: a._id,
              balance_micros: a.balance_micros,
              first_paid_at: a.first_paid_at,
              last_active_at: a.last_active_at,
              discount_tier: a.discount_tier,
              current_plan_id: a.current_plan_id,
              vm_quota_total: a.vm_quota_total,
              vm_quota_used: a.vm_quota_used,
              vm_quota_period_end: a.vm_quota_period_end,
              kyc_verified: a.kyc_verified,
              low_balance_micros: a.low_balance_micros ?? null,
            }),
          );
        }
      }),
    );

  program
    .command('usage')
    .description('NDJSON rows of usage (SPEC 13): per window (and group) the records, quantity and micros charged, with account_id')
    .option('--account <id>', 'one account (default: every account, streamed shard by shard)')
    .option('--from <time>', 'RFC 3339, on a window boundary (default: 30 days before --to)')
    .option('--to <time>', 'RFC 3339, on a window boundary, exclusive (default: the end of the current window)')
    .option('--window <window>', 'hour or day (default: day)')
    .option('--group-by <group>', 'kind or applies_to (default: none)')
    .action((opts: { account?: string; from?: string; to?: string; window?: string; groupBy?: string }) =>
      withAccounts('tally-usage', async ({ accounts }, config) => {
        const { parseUsageQuery, TallyError, usageAnswer } = await domain();
        const query = parseUsageQuery({ from: opts.from, to: opts.to, window: opts.window, group_by: opts.groupBy }, Date.now(), config.lateArrivalDays);
        const lines = new PacedLines();
        const print = async (doc: AccountDoc): Promise<void> => {
          for (const row of usageAnswer(doc._id, doc.usage, query).rows) await lines.push(JSON.stringify({ account_id: doc._id, ...row }));
        };
        if (opts.account !== undefined) {
          const doc = await accounts.account(opts.account);
          if (!doc) throw new TallyError('account_not_found', `no account ${opts.account}`);
          await print(doc);
        } else {
          for await (const docs of accounts.byShard()) for (const doc of docs) await print(doc);
        }
        await lines.flush();
      }),
    );

  program
    .command('stats')
    .description('JSON counts: received, charged, duplicates, dead, pending (0 once every record is charged and readable)')
    .option('--wait', 'wait until pending is 0, then print; exit 1 if --timeout passes first')
    .option('--timeout <seconds>', 'with --wait: how long to wait', parseSeconds, 600)
    .action((opts: { wait?: boolean; timeout: number }) =>
      withAccounts('tally-stats', async (opened, config) => {
        const [{ connectBus }, { readPending, readPipelineStats }, { sumShardLog }] = await Promise.all([bus(), app(), store()]);
        const endpoints = await endpointsFor(config);
        const nats = await connectBus(endpoints.natsUrl, 'tally-stats', endpoints.natsSecurity);
        const lag = () => opened.accounts.status();
        try {
          let settled = true;
          if (opts.wait) {
            // Polls the cheap part only (no store read); the full counts once, at the end.
            const deadline = Date.now() + opts.timeout * 1000;
            while ((await readPending(nats.jsm, lag)).pending > 0) {
              if (Date.now() >= deadline) {
                settled = false;
                break;
              }
              await new Promise((r) => setTimeout(r, 100));
            }
          }
          out(JSON.stringify(await readPipelineStats(nats.jsm, () => sumShardLog(opened.db), lag)));
          if (!settled) process.stderr.write(`tally stats: not settled after ${opts.timeout} s\n`);
          process.exitCode = settled ? 0 : 1;
        } finally {
          await nats.close();
        }
      }),
    );

  program
    .command('verify')
    .description('check balance == sum(ledger) for every account; exits 1 on any mismatch')
    .action(() =>
      withAccounts('tally-verify', async (opened) => {
        const { countLedgerKinds, verifyLedger } = await store();
        const { accounts, mismatches } = await verifyLedger(opened.db, await opened.accounts.list());
        for (const m of mismatches) out(ndjson(m));
        // Every kind's entries are in the balances checked (adjustments too): the counts say what the ledger holds.
        out(JSON.stringify({ accounts, mismatches: mismatches.length, ledger_entries: await countLedgerKinds(opened.db) }));
        process.exitCode = mismatches.length === 0 ? 0 : 1;
      }),
    );
}
