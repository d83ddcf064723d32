import { createReadStream, fstatSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../../shared/config/index.js';

/** Standard input; a redirected file is read in 1 MiB blocks (process.stdin reads 64 KiB). */
function stdinStream(): NodeJS.ReadableStream {
  return fstatSync(0).isFile() ? createReadStream('', { fd: 0, highWaterMark: 1 << 20 }) : process.stdin;
}

function threadCount(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > 64) throw new InvalidArgumentError('must be an integer from 0 to 64');
  return n;
}

/** `tally quote [--accounts FILE]` (SPEC 13): offline, needs only the pricing config. */
export function registerQuoteCommand(program: Command): void {
  program
    .command('quote')
    .description('price a recorded stream from stdin offline: one NDJSON answer per input line')
    .option('--accounts <file>', 'NDJSON of {"account_id", "first_paid_at"}, e.g. the output of `tally accounts`')
    .option('--threads <n>', 'worker threads that validate and price (0: all on the main thread)', threadCount, availableParallelism())
    .action(async (opts: { accounts?: string; threads: number }) => {
      const config = loadConfig();
      const { runQuote, formatQuoteSummary } = await import('./quote.js');
      // `tally quote < stream | head` closes our stdout early; that is a normal end.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err;
        process.exit(0);
      });
      const summary = await runQuote({
        accountsFile: opts.accounts,
        input: stdinStream(),
        output: process.stdout,
        priceBook: config.priceBook,
        ladder: config.ladder,
        lateArrivalDays: config.lateArrivalDays,
        now: Date.now(),
        threads: opts.threads,
      });
      // Standard output holds only the answers; the summary is for whoever watches.
      process.stderr.write(`tally quote: ${formatQuoteSummary(summary)}\n`);
    });
}
