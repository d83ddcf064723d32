import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runReplay, type ReplayProgress } from '../../../services/cli/load/replay.js';
import { connectBus, readStream, type Bus } from '../../../shared/bus/index.js';
import { formatRecordedLine } from '../../../shared/domain/index.js';
import { findBinary } from '../../../shared/runtime/binaries.js';
import { freePort } from '../../../shared/runtime/index.js';
import { natsProbe, waitReady } from '../../../shared/runtime/probes.js';

/** Lines one at a time, or batches of them (as lineBatches yields). */
async function* lines<T extends string | readonly string[]>(xs: T[]) {
  yield* xs;
}
const rec = (id: string, extra = {}) =>
  formatRecordedLine('usage.a', JSON.stringify({ id, account_id: 'a', occurred_at: '2026-11-25T00:00:00Z' }), undefined, extra);

/** The most publishes ever awaiting their ack, as onProgress saw them after every send. */
function pendingProbe() {
  let max = 0;
  return { onProgress: (p: ReplayProgress) => (max = Math.max(max, p.sent - p.acked)), progressEvery: 1, max: () => max };
}

/**
 * runReplay (services/cli/load/replay.ts) against a real nats-server of its own: what
 * JetStream stored (subjects, Nats-Msg-Id, other headers) and what it answered is what the
 * report counts; the window, the pacing, and a batch nobody answers (a timeout, not a hang).
 */
describe('runReplay: a recorded stream published through AckedPublisher', () => {
  let dir: string;
  let server: ChildProcess;
  let bus: Bus;

  const stored = async (): Promise<{ subject: string; msgId?: string; trace?: string }[]> => {
    const out: { subject: string; msgId?: string; trace?: string }[] = [];
    for await (const m of readStream(bus.js, bus.jsm, 'USAGE')) {
      const msgId = m.headers?.get('Nats-Msg-Id');
      const trace = m.headers?.get('X-Trace');
      out.push({ subject: m.subject, ...(msgId ? { msgId } : {}), ...(trace ? { trace } : {}) });
    }
    return out;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tally-replay-'));
    const [port, monitor] = [await freePort(), await freePort()];
    server = spawn(findBinary('nats-server'), ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', dir], { stdio: 'ignore' });
    await waitReady(natsProbe(port, monitor), 10_000, once(server, 'exit'));
    bus = await connectBus(`nats://127.0.0.1:${port}`, 'tally-test-replay');
  });
  beforeEach(async () => {
    // A fresh stream per test: its own duplicate window and nothing stored.
    await bus.jsm.streams.delete('USAGE').catch(() => undefined);
    await bus.jsm.streams.add({ name: 'USAGE', subjects: ['usage.>'], duplicate_window: 60_000_000_000 });
  });
  afterAll(async () => {
    await bus?.close();
    server?.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps at most `window` acks pending, and reports sent, acked, duplicates, errors and skipped lines', async () => {
    const probe = pendingProbe();
    const input = [...Array.from({ length: 500 }, (_, i) => rec(`r${i}`)), rec('r1'), rec('r2'), 'not json', '', formatRecordedLine('nostream.fail', '{}')];
    const report = await runReplay({ nc: bus.nc, lines: lines(input), window: 16, ...probe });
    expect(probe.max()).toBe(16);
    expect(report).toMatchObject({ lines: 505, skipped: 2, sent: 503, acked: 502, duplicates: 2, errors: 1, first_error: expect.stringMatching(/^503/) });
    expect((await stored()).length).toBe(500);
  });

  it('sets Nats-Msg-Id to <account_id>/<id> where the record parses (over a recorded bare id), else the line header; --no-msg-id leaves it out; other headers pass through', async () => {
    const input = [
      rec('r1'),
      formatRecordedLine('usage.a', '{"id":"r2","account_id":"a"}', { 'Nats-Msg-Id': 'r2', 'X-Trace': 't1' }),
      formatRecordedLine('usage.a', '{"id":"r3"}', { 'Nats-Msg-Id': 'hdr' }),
      formatRecordedLine('usage.a', '{"id":'),
    ];
    expect(await runReplay({ nc: bus.nc, lines: lines(input) })).toMatchObject({ sent: 4, acked: 4, duplicates: 0, errors: 0 });
    expect(await stored()).toEqual([
      { subject: 'usage.a', msgId: 'a/r1' },
      { subject: 'usage.a', msgId: 'a/r2', trace: 't1' },
      { subject: 'usage.a', msgId: 'hdr' },
      { subject: 'usage.a' },
    ]);
    // Without ids nothing is a duplicate: all four are stored again, with no Nats-Msg-Id at all.
    expect(await runReplay({ nc: bus.nc, lines: lines([input]), msgId: false })).toMatchObject({ sent: 4, acked: 4, duplicates: 0, errors: 0 });
    expect((await stored()).slice(4)).toEqual([{ subject: 'usage.a' }, { subject: 'usage.a', trace: 't1' }, { subject: 'usage.a' }, { subject: 'usage.a' }]);
  });

  it('the same id on two accounts is two Nats-Msg-Ids, so JetStream keeps both (issue #27 §4)', async () => {
    const same = (account: string) => formatRecordedLine(`usage.${account}`, JSON.stringify({ id: 'r1', account_id: account }));
    const report = await runReplay({ nc: bus.nc, lines: lines([same('a'), same('b'), same('a')]) });
    expect(report).toMatchObject({ acked: 3, duplicates: 1 });
    expect((await stored()).map((s) => s.msgId)).toEqual(['a/r1', 'b/r1']);
  });

  it('paces by the token bucket on an injected clock', async () => {
    let now = 0;
    const report = await runReplay({
      nc: bus.nc,
      lines: lines(Array.from({ length: 300 }, (_, i) => rec(`r${i}`))),
      rate: 100,
      clock: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    // A burst of 10, then 290 tokens at 100/s.
    expect(now).toBeGreaterThanOrEqual(2900);
    expect(now).toBeLessThanOrEqual(2910);
    expect(report).toMatchObject({ sent: 300, acked: 300, rate: Math.round(300 / 2.9) });
  });

  it('a paced batch goes out a record at a time: each is sent before the pause that follows it', async () => {
    let now = 0;
    const sends: [string | undefined, number][] = [];
    const at = (id: string, s: number) =>
      formatRecordedLine('usage.a', JSON.stringify({ id, account_id: 'a', occurred_at: new Date(1_000_000 + s * 1000).toISOString() }));
    const report = await runReplay({
      nc: bus.nc,
      lines: lines([[at('p0', 0), at('p1', 1), at('p2', 3)]]),
      speed: 10,
      onSend: (id, t) => sends.push([id, t]),
      clock: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    expect(sends).toEqual([
      ['p0', 0],
      ['p1', 100],
      ['p2', 300],
    ]);
    expect(report).toMatchObject({ sent: 3, acked: 3, errors: 0 });
  });

  it('publishes batches like single lines, in order, and still keeps at most `window` acks pending', async () => {
    const probe = pendingProbe();
    async function* batches() {
      for (let b = 0; b < 10; b++) yield Array.from({ length: 100 }, (_, i) => rec(`b${b}-${i}`));
    }
    const report = await runReplay({ nc: bus.nc, lines: batches(), window: 64, ...probe });
    expect(probe.max()).toBe(64);
    expect(report).toMatchObject({ lines: 1000, sent: 1000, acked: 1000, errors: 0 });
    expect((await stored()).map((s) => s.msgId)).toEqual(Array.from({ length: 1000 }, (_, i) => `a/b${Math.floor(i / 100)}-${i % 100}`));
  });

  it('a batch JetStream never answers counts its missing messages as errors within the timeout; the answered ones are acked', async () => {
    // A core subscriber that never replies: the server sends no 503, so only the timeout ends the wait.
    const silent = bus.nc.subscribe('silent.>');
    try {
      const input = Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0 ? rec(`t${i}`) : formatRecordedLine('silent.x', JSON.stringify({ id: `t${i}`, account_id: 'a' })),
      );
      const started = performance.now();
      const report = await runReplay({ nc: bus.nc, lines: lines([input]), timeoutMs: 300 });
      expect(performance.now() - started).toBeLessThan(2000);
      expect(report).toMatchObject({
        sent: 10,
        acked: 5,
        duplicates: 0,
        errors: 5,
        first_error: expect.stringMatching(/5 message\(s\) of the batch not within 300 ms/),
      });
      expect((await stored()).length).toBe(5);
    } finally {
      silent.unsubscribe();
    }
  });
});
