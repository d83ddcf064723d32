import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DLQ_HEADERS, DLQ_STREAM, readStream } from '../../../shared/bus/index.js';
import { Quoter } from '../../../shared/domain/index.js';
import { sumShardLog, verifyLedger } from '../../../shared/store/index.js';
import { listAccounts } from '../../../shared/store/internal.js';
import { startTestServers, type TestServers } from '../../support/servers.js';
import { probe, startPipeline, testConfig, type Probe } from '../../support/pipeline.js';
import { badMessages, usage } from '../../support/records.js';
import { recordMsgId } from '../../support/stream.js';

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('pipeline end to end: NATS -> BullMQ -> MongoDB', () => {
  let servers: TestServers;
  let p: Probe;
  const config = () => testConfig(servers, { SHARDS: '8' });
  let cfg: ReturnType<typeof config>;

  beforeAll(async () => {
    servers = await startTestServers();
    cfg = config();
    p = await probe(cfg, servers);
  });
  afterAll(async () => {
    await p?.close();
    await servers?.stop();
  });

  it('charges valid records once, dead-letters every bad one with its code and bytes, counts duplicates', async () => {
    const commands: { name: string; collection: string; statements: number }[] = [];
    const pipeline = await startPipeline(cfg, servers, { mongoOptions: { monitorCommands: true } });
    pipeline.worker.mongo.client.on('commandStarted', (e) => {
      const body = e.command as { updates?: unknown[]; deletes?: unknown[]; documents?: unknown[] };
      commands.push({
        name: e.commandName,
        collection: String(body[e.commandName as keyof typeof body] ?? ''),
        statements: (body.updates ?? body.deletes ?? body.documents ?? []).length,
      });
    });
    const now = new Date();
    const rand = rng(7);
    const kinds = [
      { kind: 'llm_token', applies_to: 'llm', q: () => Math.floor(rand() * 50_000) },
      { kind: 'vm_hour', applies_to: 'vm', q: () => Math.floor(rand() * 100) / 4 },
      { kind: 'hero_os_hour', q: () => Math.floor(rand() * 1_000_000) / 1_000_000 },
      { kind: 'other', applies_to: 'hero_os_hourly', q: () => 1, cost: () => Math.floor(rand() * 10_000) },
    ];
    const lines: { subject: string; payload: string }[] = [];
    for (let i = 0; i < 1500; i++) {
      const account = `acct-${Math.floor(rand() * rand() * 25)}`;
      const k = kinds[i % kinds.length]!;
      const fields: Record<string, unknown> = { kind: k.kind, quantity: k.q() };
      if (k.applies_to) fields['applies_to'] = k.applies_to;
      else delete fields['applies_to'];
      if (k.cost) fields['cost_micros'] = k.cost();
      const record = { ...usage(`r-${i}`, account, {}, new Date(now.getTime() - Math.floor(rand() * 3_600_000))), ...fields };
      if (!k.applies_to) delete (record as Record<string, unknown>)['applies_to'];
      lines.push({ subject: `usage.${account}`, payload: JSON.stringify(record) });
    }
    // A producer that retries without Nats-Msg-Id: the product's own dedup must catch these.
    const retries = lines.filter((_, i) => i % 10 === 3);
    const bad = badMessages(now);

    const { js } = p.bus;
    let jsDuplicates = 0;
    for (const [i, l] of lines.entries()) {
      const ack = await js.publish(l.subject, l.payload, i % 2 === 0 ? { msgID: recordMsgId(l.payload) } : {});
      if (ack.duplicate) jsDuplicates++;
    }
    for (const l of retries) await js.publish(l.subject, l.payload);
    for (const [, subject, payload] of bad) await js.publish(subject, payload);
    // Retried with the same Nats-Msg-Id inside JetStream's window: JetStream drops it.
    const again = await js.publish(lines[0]!.subject, lines[0]!.payload, { msgID: recordMsgId(lines[0]!.payload) });
    expect(again.duplicate).toBe(true);
    expect(jsDuplicates).toBe(0);

    await p.drained();
    await pipeline.stop();

    // FerretDB v1 hangs on update/delete commands of ~100 statements (SPEC 11): never over 20.
    const writes = commands.filter((c) => c.name === 'update' || c.name === 'delete');
    expect(writes.length).toBeGreaterThan(0);
    expect(Math.max(...writes.map((c) => c.statements))).toBeLessThanOrEqual(20);
    // Projections are written as snapshots, a chunk document holding many accounts, never a document or an update per account.
    const chunkInserts = commands.filter((c) => c.name === 'insert' && c.collection.startsWith('projections_'));
    expect(chunkInserts.length).toBeGreaterThan(0);
    expect(chunkInserts.every((c) => c.statements === 1)).toBe(true);
    expect(commands.filter((c) => c.collection.startsWith('accounts')).length).toBe(0);

    // Independent computation: the domain core's quoter over the same stream.
    const quoter = new Quoter({ priceBook: cfg.priceBook, ladder: cfg.ladder, lateArrivalDays: cfg.lateArrivalDays });
    const expected = new Map<string, bigint>();
    for (const l of [...lines, ...retries]) {
      const q = quoter.quoteLine(JSON.stringify(l), now.getTime());
      if ('charge_micros' in q) expected.set(q.account_id, (expected.get(q.account_id) ?? 0n) - BigInt(q.charge_micros));
    }
    const accounts = await listAccounts(p.mongo.db);
    const actual = new Map(accounts.map((a) => [a._id, a.balance_micros]));
    expect(actual).toEqual(expected);
    for (const a of accounts) expect(typeof a.balance_micros).toBe('bigint');

    const totals = await sumShardLog(p.mongo.db);
    expect(totals.charged).toBe(lines.length);
    expect(totals.duplicates).toBe(retries.length);
    expect(await verifyLedger(p.mongo.db)).toEqual({ accounts: expected.size, mismatches: [] });

    const dead: { code: string; subject: string; payload: string }[] = [];
    for await (const m of readStream(p.bus.js, p.bus.jsm, DLQ_STREAM)) {
      dead.push({ code: m.headers?.get(DLQ_HEADERS.code) ?? '', subject: m.headers?.get(DLQ_HEADERS.subject) ?? '', payload: m.string() });
    }
    expect(dead.map((d) => d.code).sort()).toEqual(bad.map(([code]) => code).sort());
    for (const [code, subject, payload] of bad) {
      expect(dead.find((d) => d.code === code)).toEqual({ code, subject, payload });
    }
  });
});
