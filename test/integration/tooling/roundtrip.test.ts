import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_CODES, Quoter, parseRecordedLine } from '../../../shared/domain/index.js';
import type { Config } from '../../../shared/config/index.js';
import { StreamGenerator } from '../../../services/cli/load/generate.js';
import { runExport, type ExportOptions } from '../../../services/cli/load/export.js';
import { runReplay } from '../../../services/cli/load/replay.js';
import { startTestServers, type TestServers } from '../../support/servers.js';
import { probe, startPipeline, testConfig, type Probe } from '../../support/pipeline.js';
import { usage } from '../../support/records.js';
import { expectedBalances, storeState, type RecordedLine } from '../../support/stream.js';

async function* text(lines: readonly RecordedLine[]): AsyncGenerator<string> {
  for (const l of lines) yield JSON.stringify(l);
}

describe('load tooling: generate -> replay -> pipeline -> export', () => {
  let servers: TestServers;
  let p: Probe;
  let config: Config;
  const now = Date.now();
  const lines = [...new StreamGenerator({ records: 2000, accounts: 50, seed: 11, now, badRate: 0.02, dupRate: 0.03 }).lines()];
  const exported = async (o: Omit<ExportOptions, 'js' | 'jsm' | 'output'> = {}): Promise<string[]> => {
    const output = new PassThrough();
    const chunks: Buffer[] = [];
    output.on('data', (c: Buffer) => chunks.push(c));
    await runExport({ js: p.bus.js, jsm: p.bus.jsm, output, ...o });
    return Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
  };
  const quote = (input: readonly string[]) => {
    const quoter = new Quoter({ priceBook: config.priceBook, ladder: config.ladder, lateArrivalDays: config.lateArrivalDays });
    return input.map((l) => quoter.quoteLine(l, now));
  };

  beforeAll(async () => {
    servers = await startTestServers();
    config = testConfig(servers);
    p = await probe(config, servers);
  });
  afterAll(async () => {
    await p?.close();
    await servers?.stop();
  });

  it('replays every line without Nats-Msg-Id, and the pipeline ends with the balances the domain core computes', async () => {
    const report = await runReplay({ nc: p.bus.nc, lines: text(lines), msgId: false, window: 256 });
    expect(report).toMatchObject({ lines: 2000, skipped: 0, sent: 2000, acked: 2000, duplicates: 0, errors: 0 });
    const pipeline = await startPipeline(config, servers);
    try {
      await p.drained(120_000);
    } finally {
      await pipeline.stop();
    }
    const expected = expectedBalances(config, lines, now);
    const state = await storeState(p.mongo.db);
    expect(state.mismatches).toBe(0);
    expect(state.charged).toBe(expected.unique);
    expect(state.balances).toEqual(expected.balances);
  });

  it('exports the stream byte for byte: quoting the export answers exactly as quoting the original', async () => {
    const out = await exported();
    expect(out).toHaveLength(lines.length);
    expect(out.map((l) => parseRecordedLine(l))).toEqual(lines.map((l) => ({ ...l, headers: {} })));
    expect(quote(out)).toEqual(quote(lines.map((l) => JSON.stringify(l))));
  });

  it('filters by account and by store time', async () => {
    const heavy = 'acct-0';
    const mine = await exported({ account: heavy });
    expect(mine.length).toBe(lines.filter((l) => l.subject === `usage.${heavy}`).length);
    expect(mine.every((l) => parseRecordedLine(l)?.subject === `usage.${heavy}`)).toBe(true);
    expect(await exported({ until: new Date(now - 60_000) })).toEqual([]);
    expect(await exported({ since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect(await exported({ since: new Date(now - 60_000), until: new Date(Date.now()) })).toHaveLength(lines.length);
  });

  it('exports the dead letters with their original subject and code, every code present', async () => {
    const out = (await exported({ dlq: true })).map((l) => JSON.parse(l) as { subject: string; payload: string; code: string });
    const badLines = quote(lines.map((l) => JSON.stringify(l))).filter((q) => 'dead' in q);
    expect(out).toHaveLength(badLines.length);
    expect(new Set(out.map((d) => d.code))).toEqual(new Set(DEAD_LETTER_CODES));
    expect(quote(out.map((d) => JSON.stringify(d)))).toEqual(out.map((d) => ({ dead: d.code })));
    const original = new Set(lines.map((l) => JSON.stringify([l.subject, l.payload])));
    expect(out.every((d) => original.has(JSON.stringify([d.subject, d.payload])))).toBe(true);
  });

  it('with Nats-Msg-Id, JetStream reports the retried records as duplicates; --rate holds it back', async () => {
    const retried = [...new StreamGenerator({ records: 300, accounts: 5, seed: 12, now, dupRate: 0.1, idPrefix: 'msgid' }).lines()];
    const repeats = retried.length - new Set(retried.map((l) => l.payload)).size;
    expect(repeats).toBeGreaterThan(10);
    const report = await runReplay({ nc: p.bus.nc, lines: text(retried), rate: 1000 });
    expect(report).toMatchObject({ sent: 300, acked: 300, duplicates: repeats, errors: 0 });
    // 300 tokens at 1000/s with a burst of 100 cannot take less than 0.2 s.
    expect(report.seconds).toBeGreaterThanOrEqual(0.19);
  });

  it("the same id on two accounts, replayed inside JetStream's window with Nats-Msg-Id, is charged on both (issue #27 §4)", async () => {
    const twins = ['acct-twin-a', 'acct-twin-b'].map((account) => ({
      subject: `usage.${account}`,
      payload: JSON.stringify(usage('twin-1', account, {}, new Date(now))),
    }));
    const report = await runReplay({ nc: p.bus.nc, lines: text([...twins, twins[0]!]) });
    // The repeat on the first account is JetStream's to drop; the second account's record is not.
    expect(report).toMatchObject({ sent: 3, acked: 3, duplicates: 1, errors: 0 });
    const pipeline = await startPipeline(config, servers);
    try {
      await p.drained(120_000);
    } finally {
      await pipeline.stop();
    }
    const expected = expectedBalances(config, twins, now).balances;
    const state = await storeState(p.mongo.db);
    expect(state.mismatches).toBe(0);
    for (const account of ['acct-twin-a', 'acct-twin-b']) {
      expect(expected.get(account)).toBeLessThan(0n);
      expect(state.balances.get(account)).toBe(expected.get(account));
    }
  });
});
