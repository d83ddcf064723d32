import type { Command } from 'commander';
import { loadConfig } from '../../../shared/config/index.js';
import { runQuote } from './quote.js';

/** `tally quote [--accounts FILE]` (SPEC 13): offline, needs only the pricing config. */
export function registerQuoteCommand(program: Command): void {
  program
    .command('quote')
    .description('price a recorded stream from stdin offline: one NDJSON answer per input line')
    .option('--accounts <file>', 'NDJSON of {"account_id", "first_paid_at"}, e.g. the output of `tally accounts`')
    .action(async (opts: { accounts?: string }) => {
      const config = loadConfig();
      // `tally quote < stream | head` closes our stdout early; that is a normal end.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err;
        process.exit(0);
      });
      await runQuote({
        accountsFile: opts.accounts,
        input: process.stdin,
        output: process.stdout,
        priceBook: config.priceBook,
        ladder: config.ladder,
        lateArrivalDays: config.lateArrivalDays,
        now: Date.now(),
      });
    });
}
