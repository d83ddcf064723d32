import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LADDER, DEFAULT_PRICE_BOOK, Quoter, formatQuoteLine } from '../../shared/domain/index.js';
import { formatQuoteSummary } from '../../services/cli/commands/quote.js';
import { usage } from '../support/records.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const TALLY = join(ROOT, 'bin/tally.js');

/**
 * `tally quote` prices on worker threads (the compiled build's services/cli/quote/worker.js,
 * or its source under tsx), which vitest's module runner cannot start, so this runs the CLI
 * as a user does.
 */
describe('tally quote on worker threads', () => {
  it('writes, with 1, 2 and 3 threads, byte for byte what one thread writes, and what the Quoter says; the summary on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-quote-threads-'));
    const stream = join(dir, 'stream.ndjson');
    // ~12 MB: dozens of 256 KiB blocks, so repeats and dead records fall across blocks and threads.
    await run(process.execPath, [
      TALLY,
      'generate',
      '--records',
      '60000',
      '--accounts',
      '500',
      '--seed',
      '7',
      '--bad-rate',
      '0.05',
      '--dup-rate',
      '0.1',
      '--out',
      stream,
    ]);
    const env = { ...process.env, LOG_LEVEL: 'warn' };
    const quoteRun = (threads: number) =>
      run('sh', ['-c', `exec "$0" "$1" quote --threads ${threads} < "$2"`, process.execPath, TALLY, stream], { env, maxBuffer: 1 << 28 });
    const quote = async (threads: number): Promise<string> => (await quoteRun(threads)).stdout;
    const { stdout: inline, stderr: summaryLine } = await quoteRun(0);
    const lines = readFileSync(stream, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    expect(inline.split('\n')).toHaveLength(lines.length + 1);
    for (const threads of [1, 2, 3]) expect(await quote(threads)).toBe(inline);
    // From the source through tsx, where the threads load the worker's source.
    const fromSource = await run('sh', ['-c', `exec "$0" --import tsx services/cli/main.ts quote --threads 2 < "$1"`, process.execPath, stream], {
      cwd: ROOT,
      env,
      maxBuffer: 1 << 28,
    });
    expect(fromSource.stdout).toBe(inline);

    const answers = inline.trimEnd().split('\n');
    const kinds = { charged: 0, duplicate: 0, dead: 0 };
    for (const a of answers) kinds[a.startsWith('{"dead"') ? 'dead' : a.startsWith('{"duplicate"') ? 'duplicate' : 'charged']++;
    expect(kinds.duplicate).toBeGreaterThan(3000);
    expect(kinds.dead).toBeGreaterThan(1000);

    // Events lie at most 34 days (--days) behind the generator's clock, far from both lateness limits,
    // so the Quoter's clock, seconds after the CLI's, judges every line alike.
    const quoter = new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35 });
    const quoted = lines.map((l) => quoter.quoteLine(l, Date.now()));
    expect(answers).toEqual(quoted.map(formatQuoteLine));

    // Standard error: one summary line, its total the sum of the Quoter's charges.
    const chargeMicros = quoted.reduce((sum, q) => sum + ('charge_micros' in q ? BigInt(q.charge_micros) : 0n), 0n);
    expect(chargeMicros).toBeGreaterThan(0n);
    expect(summaryLine).toBe(
      `tally quote: ${formatQuoteSummary({ lines: lines.length, charged: kinds.charged, duplicates: kinds.duplicate, dead: kinds.dead, chargeMicros })}\n`,
    );
  }, 120_000);

  it('keys repeats by (account_id, id) across blocks and threads: each id on 12 accounts is 12 records (issue 16)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-quote-keys-'));
    const stream = join(dir, 'stream.ndjson');
    // 4000 lines (~0.8 MB, several blocks): id k-<i % 50> on acct-<i % 24>, so 600 distinct pairs, each id on 12 accounts.
    const at = new Date(Date.now() - 3_600_000);
    const lines = Array.from({ length: 4000 }, (_, i) => {
      const account = `acct-${i % 24}`;
      return JSON.stringify({ subject: `usage.${account}`, payload: JSON.stringify(usage(`k-${i % 50}`, account, {}, at)) });
    });
    writeFileSync(stream, `${lines.join('\n')}\n`);
    const { stdout, stderr } = await run('sh', ['-c', `exec "$0" "$1" quote --threads 2 < "$2"`, process.execPath, TALLY, stream], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      maxBuffer: 1 << 26,
    });
    const quoter = new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35 });
    expect(stdout.trimEnd().split('\n')).toEqual(lines.map((l) => formatQuoteLine(quoter.quoteLine(l, Date.now()))));
    expect(stderr).toMatch(/^tally quote: 4000 lines, 600 charged for .*, 3400 duplicates, 0 dead\n$/);
  }, 60_000);
});
