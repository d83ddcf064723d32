import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatQuoteSummary, runQuote } from '../../../services/cli/commands/quote.js';
import { DEFAULT_LADDER, DEFAULT_PRICE_BOOK, Quoter, formatQuoteLine } from '../../../shared/domain/index.js';
import { arbLine } from '../domain/arbitraries.js';
import { DAY, NOW, line, v1 } from '../domain/helpers.js';

/** A slow reader: each write completes a tick later, and a small buffer makes the writer wait for 'drain'. */
function sink(highWaterMark = 16): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      setImmediate(done);
    },
  });
  return { stream, text: () => chunks.join('') };
}

async function quoteOf(input: (string | Buffer)[], accountsFile?: string, blockBytes?: number) {
  const out = sink();
  const summary = await runQuote({
    ...(blockBytes !== undefined ? { blockBytes } : {}),
    input: (async function* () {
      yield* input;
    })(),
    output: out.stream,
    accountsFile,
    priceBook: DEFAULT_PRICE_BOOK,
    ladder: DEFAULT_LADDER,
    lateArrivalDays: 35,
    now: NOW,
  });
  return {
    summary,
    lines: out
      .text()
      .split('\n')
      .slice(0, -1)
      .map((l) => JSON.parse(l) as unknown),
  };
}

describe('runQuote', () => {
  it('writes one answer per input line, in order', async () => {
    const text = [line(v1()), line(v1()), 'junk', line(v1({ id: 'rec-2', kind: 'other' }))].join('\n') + '\n';
    const { summary, lines } = await quoteOf([text]);
    expect(lines).toEqual([
      { id: 'rec-1', account_id: 'acct-1', charge_micros: 150, tier: 'none' },
      { duplicate: 'rec-1' },
      { dead: 'malformed_json' },
      { dead: 'unpriced' },
    ]);
    expect(summary).toEqual({ lines: 4, charged: 1, duplicates: 1, dead: 2, chargeMicros: 150n });
  });

  it('keys repeats by (account_id, id), within a block and across blocks (issue 16)', async () => {
    const on = (account: string, id = 'rec-1') => line(v1({ id, account_id: account }), `usage.${account}`);
    const text = [on('acct-1'), on('acct-2'), on('acct-3'), on('acct-2'), on('acct-1'), on('acct-3', 'rec-2')].join('\n') + '\n';
    for (const blockBytes of [1, 200, 1 << 18]) {
      const { summary, lines } = await quoteOf([text], undefined, blockBytes);
      expect(lines).toEqual([
        { id: 'rec-1', account_id: 'acct-1', charge_micros: 150, tier: 'none' },
        { id: 'rec-1', account_id: 'acct-2', charge_micros: 150, tier: 'none' },
        { id: 'rec-1', account_id: 'acct-3', charge_micros: 150, tier: 'none' },
        { duplicate: 'rec-1' },
        { duplicate: 'rec-1' },
        { id: 'rec-2', account_id: 'acct-3', charge_micros: 150, tier: 'none' },
      ]);
      expect(summary).toEqual({ lines: 6, charged: 4, duplicates: 2, dead: 0, chargeMicros: 600n });
    }
  });

  it('handles CRLF, a last line without newline, and a blank line in the middle', async () => {
    const { lines } = await quoteOf([`${line(v1())}\r\n\r\n${line(v1({ id: 'rec-2' }))}`]);
    expect(lines).toEqual([expect.objectContaining({ id: 'rec-1' }), { dead: 'malformed_json' }, expect.objectContaining({ id: 'rec-2' })]);
  });

  it('reassembles lines and multi-byte characters split across chunks', async () => {
    const text = `${line(v1({ meta: { note: 'héllo ✓' } }))}\n${line(v1({ id: 'rec-2' }))}\n`;
    const bytes = Buffer.from(text, 'utf8');
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    const { lines } = await quoteOf(chunks);
    expect(lines).toEqual([expect.objectContaining({ id: 'rec-1' }), expect.objectContaining({ id: 'rec-2' })]);
  });

  it('answers a line too long to hold any record as too_large without keeping it', async () => {
    const huge = 'x'.repeat(1 << 20);
    const { lines } = await quoteOf([huge, huge, '\n', line(v1()), '\n', huge, huge]);
    expect(lines).toEqual([{ dead: 'too_large' }, expect.objectContaining({ id: 'rec-1' }), { dead: 'too_large' }]);
  });

  it('prices with first_paid_at from the accounts file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-quote-'));
    const file = join(dir, 'accounts.ndjson');
    writeFileSync(file, `${JSON.stringify({ account_id: 'acct-1', first_paid_at: new Date(NOW - 40 * DAY).toISOString() })}\n\n`);
    const { lines } = await quoteOf([`${line(v1())}\n`], file);
    expect(lines).toEqual([{ id: 'rec-1', account_id: 'acct-1', charge_micros: 38, tier: 'month' }]);
  });

  it('waits for a slow reader instead of buffering the whole output', async () => {
    const input = new PassThrough();
    const out = sink(1);
    const done = runQuote({ input, output: out.stream, priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35, now: NOW });
    const block = Array.from({ length: 2000 }, (_, i) => line(v1({ id: `r${i}` }))).join('\n');
    for (let i = 0; i < 5; i++) input.write(`${block.replaceAll('"r', `"b${i}-r`)}\n`);
    input.end();
    const summary = await done;
    expect(summary.charged).toBe(10_000);
    expect(out.text().split('\n')).toHaveLength(10_001);
  });
});

describe('formatQuoteSummary', () => {
  it('gives the counts and the total in dollars and micros', () => {
    expect(formatQuoteSummary({ lines: 1000, charged: 961, duplicates: 20, dead: 19, chargeMicros: 12_500_000n })).toBe(
      '1000 lines, 961 charged for $12.50 (12500000 micros), 20 duplicates, 19 dead',
    );
  });
});

describe('runQuote in blocks', () => {
  it('answers exactly as the line-by-line Quoter, however the input is cut into blocks and chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbLine, { maxLength: 60 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 700 }),
        async (lines, blockBytes, chunkBytes) => {
          const text = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
          const chunks = Array.from({ length: Math.ceil(text.length / chunkBytes) }, (_, i) => text.subarray(i * chunkBytes, (i + 1) * chunkBytes));
          const { lines: answers, summary } = await quoteOf(chunks, undefined, blockBytes);
          const quoter = new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35 });
          // Through formatQuoteLine and back, as the CLI writes it.
          const expected = lines.map((l) => JSON.parse(formatQuoteLine(quoter.quoteLine(l, NOW))) as unknown);
          expect(answers).toEqual(expected);
          expect(summary.lines).toBe(lines.length);
          expect(summary.charged + summary.duplicates + summary.dead).toBe(lines.length);
          // The total is what the charged answers add up to, repeats left out.
          const charges = expected.flatMap((a) =>
            typeof a === 'object' && a !== null && 'charge_micros' in a ? [BigInt(a.charge_micros as number | string)] : [],
          );
          expect(summary.chargeMicros).toBe(charges.reduce((x, y) => x + y, 0n));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('runQuote on the golden stream', () => {
  it('writes the hand-checked answers (test/unit/domain/golden.md)', async () => {
    const dir = new URL('../domain/golden/', import.meta.url);
    const out = sink(1024);
    await runQuote({
      input: createReadStream(new URL('stream.ndjson', dir), { highWaterMark: 97 }),
      output: out.stream,
      accountsFile: fileURLToPath(new URL('accounts.ndjson', dir)),
      priceBook: DEFAULT_PRICE_BOOK,
      ladder: DEFAULT_LADDER,
      lateArrivalDays: 35,
      now: Date.parse('2025-03-01T12:00:00.000Z'),
    });
    const expected = readFileSync(new URL('expected.ndjson', dir), 'utf8');
    expect(
      out
        .text()
        .split('\n')
        .map((l) => (l ? JSON.parse(l) : l)),
    ).toEqual(expected.split('\n').map((l) => (l ? JSON.parse(l) : l)));
  });
});
