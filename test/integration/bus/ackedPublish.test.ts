import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscardPolicy } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckedPublisher, PublishTimeoutError, connectBus, readStream, type AckedMessage, type Bus } from '../../../shared/bus/index.js';
import { findBinary } from '../../../shared/runtime/binaries.js';
import { freePort } from '../../../shared/runtime/index.js';
import { natsProbe, waitReady } from '../../../shared/runtime/probes.js';

const encoder = new TextEncoder();
const message = (subject: string, id: string, bytes = 0): AckedMessage => ({
  subject,
  payload: encoder.encode(JSON.stringify({ id, pad: 'x'.repeat(bytes) })),
  msgId: `m/${id}`,
});

/**
 * AckedPublisher (shared/bus/ackedPublish.ts) against a real nats-server of its own, so the
 * server can be killed: every answer counted, duplicates told by the PubAck, a stream's
 * refusal per message, and a dead server a bounded rejection that a retry repairs.
 */
describe('AckedPublisher: core publishes whose JetStream acks are counted per batch', () => {
  let dir: string;
  let port: number;
  let monitor: number;
  let server: ChildProcess;
  let bus: Bus;
  let publisher: AckedPublisher;

  const startServer = async (): Promise<void> => {
    server = spawn(findBinary('nats-server'), ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', dir], { stdio: 'ignore' });
    await waitReady(natsProbe(port, monitor), 10_000, once(server, 'exit'));
  };
  // Read on a connection of its own, closed after: the ordered consumer's clean-up requests must not outlive it into the kill.
  const stored = async (stream: string): Promise<string[]> => {
    const reader = await connectBus(`nats://127.0.0.1:${port}`, 'tally-test-acked-reader');
    const ids: string[] = [];
    try {
      for await (const m of readStream(reader.js, reader.jsm, stream)) ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
    } finally {
      await reader.close();
    }
    return ids;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tally-acked-'));
    [port, monitor] = [await freePort(), await freePort()];
    await startServer();
    bus = await connectBus(`nats://127.0.0.1:${port}`, 'tally-test-acked');
    await bus.jsm.streams.add({ name: 'ACKED', subjects: ['acked.>'], duplicate_window: 60_000_000_000 });
    await bus.jsm.streams.add({ name: 'OPT', subjects: ['opt.>'], duplicate_window: 60_000_000_000 });
    await bus.jsm.streams.add({ name: 'SMALL', subjects: ['small.>'], max_bytes: 4096, discard: DiscardPolicy.New });
    publisher = new AckedPublisher(bus.nc, 1000);
  });
  afterAll(async () => {
    publisher?.close();
    await bus?.close();
    server?.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers once every message is acked: stored and duplicates counted, each with its Nats-Msg-Id', async () => {
    const first = Array.from({ length: 1000 }, (_, i) => message(`acked.a${i % 7}`, `r${i}`));
    expect(await publisher.publishAll(first)).toEqual({ stored: 1000, duplicates: 0, refused: [] });
    // Half of the next batch was sent before: JetStream's PubAck says so, and stores it once.
    const second = Array.from({ length: 1000 }, (_, i) => message(`acked.a${i % 7}`, `r${i + 500}`));
    const [again, parallel] = await Promise.all([publisher.publishAll(second), publisher.publishAll([message('acked.b', 'p1')])]);
    expect(again).toEqual({ stored: 500, duplicates: 500, refused: [] });
    expect(parallel).toEqual({ stored: 1, duplicates: 0, refused: [] });
    const ids = await stored('ACKED');
    expect(ids.length).toBe(1501);
    expect(new Set(ids)).toEqual(new Set([...Array.from({ length: 1500 }, (_, i) => `m/r${i}`), 'm/p1']));
    expect(await publisher.publishAll([])).toEqual({ stored: 0, duplicates: 0, refused: [] });
  });

  it('a Nats-Msg-Id that could break the header block is refused by its index, before anything is sent', async () => {
    const bad = { ...message('acked.h', 'h1'), msgId: 'h1\r\nNats-Expected-Stream: OTHER' };
    expect(await publisher.publishAll([bad])).toEqual({ stored: 0, duplicates: 0, refused: [{ index: 0, reason: expect.stringMatching(/Nats-Msg-Id/) }] });
    const mixed = await publisher.publishAll([message('acked.h', 'h2'), { ...bad, msgId: 'with space' }]);
    expect(mixed).toEqual({ stored: 1, duplicates: 0, refused: [{ index: 1, reason: expect.stringMatching(/Nats-Msg-Id/) }] });
    expect((await stored('ACKED')).filter((id) => id.startsWith('m/h') || id.startsWith('h1') || id.startsWith('with'))).toEqual(['m/h2']);
  });

  it('a message may have no Nats-Msg-Id (none is sent) or other headers (sent with its id); a repeat without an id is stored again', async () => {
    const traced = headers();
    traced.set('X-Trace', 't1');
    const plain = { subject: 'opt.a', payload: encoder.encode('{"id":"o1"}') };
    const batch: AckedMessage[] = [plain, { ...message('opt.a', 'o2'), headers: traced }, plain];
    expect(await publisher.publishAll(batch)).toEqual({ stored: 3, duplicates: 0, refused: [] });
    const reader = await connectBus(`nats://127.0.0.1:${port}`, 'tally-test-acked-reader');
    const seen: { id?: string; trace?: string; data: string }[] = [];
    try {
      for await (const m of readStream(reader.js, reader.jsm, 'OPT')) {
        const [id, trace] = [m.headers?.get('Nats-Msg-Id'), m.headers?.get('X-Trace')];
        seen.push({ ...(id ? { id } : {}), ...(trace ? { trace } : {}), data: m.string() });
      }
    } finally {
      await reader.close();
    }
    expect(seen).toEqual([{ data: '{"id":"o1"}' }, { id: 'm/o2', trace: 't1', data: JSON.stringify({ id: 'o2', pad: '' }) }, { data: '{"id":"o1"}' }]);
  });

  it('a batch partly unanswered rejects with the answers that did come', async () => {
    // A core subscriber that never replies: the server sends no 503 for its subject, so nothing answers.
    const silent = bus.nc.subscribe('silent.>');
    const quick = new AckedPublisher(bus.nc, 200);
    try {
      const sending = quick.publishAll([message('opt.t', 't1'), message('silent.x', 't2'), message('opt.t', 't1'), message('silent.x', 't3')]);
      await expect(sending).rejects.toMatchObject({ missing: 2, answered: { stored: 1, duplicates: 1, refused: [] } });
    } finally {
      quick.close();
      silent.unsubscribe();
    }
  });

  it('a message the stream refuses (full, discard new) or no stream takes is refused by its index; the others count', async () => {
    const batch = [...Array.from({ length: 12 }, (_, i) => message('small.x', `s${i}`, 900)), message('nostream.x', 'n1')];
    const outcome = await publisher.publishAll(batch);
    expect(outcome.stored).toBeGreaterThan(0);
    expect(outcome.duplicates).toBe(0);
    expect(outcome.stored + outcome.refused.length).toBe(batch.length);
    const full = outcome.refused.filter((r) => r.index < 12);
    expect(full.length).toBeGreaterThan(0);
    for (const r of full) expect(r.reason).toMatch(/maximum bytes/i);
    expect(outcome.refused.at(-1)).toEqual({ index: 12, reason: expect.stringMatching(/^503/) });
    // Exactly the messages counted stored are in the stream.
    const refusedIds = new Set(full.map((r) => `m/s${r.index}`));
    expect((await stored('SMALL')).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `m/s${i}`)
        .filter((id) => !refusedIds.has(id))
        .sort(),
    );
  });

  it('the server killed mid-batch: the call rejects within its timeout; the same batch sent again is stored once', async () => {
    const batch = Array.from({ length: 5000 }, (_, i) => message(`acked.k${i % 5}`, `k${i}`, 64));
    const started = performance.now();
    const sending = publisher.publishAll(batch);
    const exited = once(server, 'exit');
    server.kill('SIGKILL');
    await expect(sending).rejects.toBeInstanceOf(PublishTimeoutError);
    expect(performance.now() - started).toBeLessThan(2500);
    await exited;
    await startServer();
    // The client reconnects by itself; until it has, the retry times out like the first call.
    let retry = await publisher.publishAll(batch).catch((err: unknown) => err);
    for (let i = 0; i < 20 && retry instanceof PublishTimeoutError; i++) retry = await publisher.publishAll(batch).catch((err: unknown) => err);
    expect(retry).toMatchObject({ refused: [] });
    const answered = retry as { stored: number; duplicates: number };
    expect(answered.stored + answered.duplicates).toBe(batch.length);
    const ids = (await stored('ACKED')).filter((id) => id.startsWith('m/k'));
    expect(ids.length).toBe(batch.length);
    expect(new Set(ids).size).toBe(batch.length);
  });
});
