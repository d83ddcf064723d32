import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { ACCOUNT_ID_PATTERN, parseRfc3339 } from '../../../shared/domain/index.js';
import { cliContext, endpointsFor } from '../context.js';
import { LineWriter } from '../load/lineWriter.js';
import { lineBatches } from '../load/lineBatches.js';
import type { ReplayReport } from '../load/replay.js';

// Loaded by the actions that use them (see services/cli/main.ts).
const busModule = () => import('../../../shared/bus/index.js');

const integer =
  (min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };
const share = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1');
  return n;
};
const positive = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError('must be a positive number');
  return n;
};
const instant = (v: string): number => {
  const t = parseRfc3339(v);
  if (t === null) throw new InvalidArgumentError('must be an RFC 3339 timestamp, e.g. 2026-11-25T12:00:00Z');
  return t;
};
const accountId = (v: string): string => {
  if (!ACCOUNT_ID_PATTERN.test(v)) throw new InvalidArgumentError('must be 1..64 of [A-Za-z0-9_-]');
  return v;
};

/** stdout, or FILE; a reader that stops early (`| head`) ends the command normally. */
function outputFor(file: string | undefined): NodeJS.WritableStream {
  if (file !== undefined) return createWriteStream(file);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
  return process.stdout;
}

async function close(output: NodeJS.WritableStream): Promise<void> {
  if (output === process.stdout) return;
  output.end();
  await finished(output);
}

function printReport(report: ReplayReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const lines = [
    `sent        ${report.sent}${report.skipped > 0 ? ` (${report.skipped} lines skipped: not recorded messages)` : ''}`,
    `acked       ${report.acked}`,
    `duplicates  ${report.duplicates} (dropped by JetStream: Nats-Msg-Id seen within its window)`,
    `errors      ${report.errors}${report.first_error ? ` (first: ${report.first_error})` : ''}`,
    `rate        ${report.rate} records/s over ${report.seconds.toFixed(1)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `tally generate`, `tally replay`, `tally export` (SPEC 10, 13): load tooling around the recorded format. */
export function registerLoadCommands(program: Command): void {
  program
    .command('generate')
    .description('write a deterministic synthetic usage stream in the recorded format (NDJSON)')
    .option('--records <n>', 'lines to write', integer(0), 100_000)
    .option('--accounts <n>', 'accounts, with skewed popularity (a few heavy, a long tail)', integer(1), 1000)
    .option('--seed <n>', 'same seed and options, same bytes', integer(0), 1)
    .option('--bad-rate <r>', 'share of records breaking one rule, every dead-letter code in turn', share, 0)
    .option('--dup-rate <r>', 'share of lines repeating a recent record (a retrying producer)', share, 0)
    .option('--days <d>', 'late records occur up to D days before they arrive (keep below LATE_ARRIVAL_DAYS)', integer(0), 34)
    .option('--span <seconds>', 'arrivals are spread over this many seconds before --now (what --speed follows)', integer(1), 3600)
    .option('--now <time>', 'RFC 3339 end of the stream (default: now); occurred_at values are relative to it', instant)
    .option('--prefix <p>', 'record ids are <prefix>-<line> (default g<seed>)')
    .option('--out <file>', 'write here instead of stdout')
    .option('--accounts-out <file>', 'also write first_paid_at for the even accounts, for `tally quote --accounts`')
    .action(
      async (o: {
        records: number;
        accounts: number;
        seed: number;
        badRate: number;
        dupRate: number;
        days: number;
        span: number;
        now?: number;
        prefix?: string;
        out?: string;
        accountsOut?: string;
      }) => {
        if (o.badRate + o.dupRate > 1) throw new InvalidArgumentError('--bad-rate plus --dup-rate must be at most 1');
        const now = o.now ?? Date.now();
        const { StreamGenerator, firstPaidLines } = await import('../load/generate.js');
        const gen = new StreamGenerator({
          records: o.records,
          accounts: o.accounts,
          seed: o.seed,
          now,
          badRate: o.badRate,
          dupRate: o.dupRate,
          days: o.days,
          spanSeconds: o.span,
          ...(o.prefix !== undefined ? { idPrefix: o.prefix } : {}),
        });
        const output = outputFor(o.out);
        const writer = new LineWriter(output);
        for (const line of gen.lines()) await writer.write(JSON.stringify(line));
        await writer.flush();
        await close(output);
        if (o.accountsOut !== undefined) {
          const accounts = createWriteStream(o.accountsOut);
          const w = new LineWriter(accounts);
          for (const line of firstPaidLines(o.accounts, o.seed, now)) await w.write(line);
          await w.flush();
          await close(accounts);
        }
      },
    );

  program
    .command('replay')
    .description('publish a recorded stream to JetStream, with a window of pending acks, and report')
    .argument('<file>', 'recorded stream (NDJSON); - for stdin')
    .option('--rate <n>', 'records per second (token bucket)', positive)
    .option('--speed <x>', 'follow occurred_at gaps, X times faster', positive)
    .option('--no-msg-id', "leave out Nats-Msg-Id, to exercise the product's own 24 h dedup")
    .option('--window <n>', 'publishes awaiting their ack at once', integer(1), 2000)
    .option('--json', 'print the report as JSON')
    .action(async (file: string, o: { rate?: number; speed?: number; msgId: boolean; window: number; json?: boolean }) => {
      const { config } = await cliContext('tally-replay');
      const [{ connectBus, ensureStreams, streamOptions }, { runReplay }, { default: cliProgress }] = await Promise.all([
        busModule(),
        import('../load/replay.js'),
        import('cli-progress'),
      ]);
      const endpoints = await endpointsFor(config);
      const bus = await connectBus(endpoints.natsUrl, 'tally-replay', endpoints.natsSecurity);
      const input = file === '-' ? process.stdin : createReadStream(file);
      const size = file === '-' ? 0 : (await stat(file)).size;
      // A bar only for a person watching: piped or logged runs get the report alone.
      const bar =
        process.stderr.isTTY && size > 0
          ? new cliProgress.SingleBar(
              { stream: process.stderr, format: 'replay [{bar}] {percentage}% | {sent} sent, {acked} acked | {rps} rec/s | ETA {eta_formatted}' },
              cliProgress.Presets.shades_classic,
            )
          : null;
      const started = Date.now();
      bar?.start(size, 0, { sent: 0, acked: 0, rps: 0 });
      try {
        await ensureStreams(bus.jsm, streamOptions(config));
        const report = await runReplay({
          nc: bus.nc,
          lines: lineBatches(input),
          msgId: o.msgId,
          window: o.window,
          ...(o.rate !== undefined ? { rate: o.rate } : {}),
          ...(o.speed !== undefined ? { speed: o.speed } : {}),
          onProgress: (p) =>
            bar?.update(Math.min(size, p.chars), { sent: p.sent, acked: p.acked, rps: Math.round(p.acked / Math.max(0.001, (Date.now() - started) / 1000)) }),
        });
        bar?.stop();
        printReport(report, o.json === true);
        process.exitCode = report.errors > 0 ? 1 : 0;
      } finally {
        bar?.stop();
        await bus.close();
      }
    });

  program
    .command('export')
    .description('write the usage stream (or the dead letters) in the recorded format, for replay elsewhere')
    .option('--since <time>', 'messages stored at or after this RFC 3339 instant', instant)
    .option('--until <time>', 'messages stored at or before this RFC 3339 instant', instant)
    .option('--account <id>', 'only this account (subject usage.<id>)', accountId)
    .option('--dlq', 'the dead-letter stream; lines carry the original subject and the code')
    .option('--out <file>', 'write here instead of stdout')
    .action(async (o: { since?: number; until?: number; account?: string; dlq?: boolean; out?: string }) => {
      const { config } = await cliContext('tally-export');
      const [{ connectBus }, { runExport }] = await Promise.all([busModule(), import('../load/export.js')]);
      const endpoints = await endpointsFor(config);
      const bus = await connectBus(endpoints.natsUrl, 'tally-export', endpoints.natsSecurity);
      const output = outputFor(o.out);
      try {
        await runExport({
          js: bus.js,
          jsm: bus.jsm,
          output,
          dlq: o.dlq === true,
          ...(o.since !== undefined ? { since: new Date(o.since) } : {}),
          ...(o.until !== undefined ? { until: new Date(o.until) } : {}),
          ...(o.account !== undefined ? { account: o.account } : {}),
        });
        await close(output);
      } finally {
        await bus.close();
      }
    });
}
