import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, ensureStreams, readStream, streamOptions, USAGE_STREAM, usageMsgId, usageSubject, type Bus } from '../../../shared/bus/index.js';
import { loadConfig } from '../../../shared/config/index.js';
import { findBinary } from '../../../shared/runtime/binaries.js';
import { freePort } from '../../../shared/runtime/index.js';
import { natsProbe, waitReady } from '../../../shared/runtime/probes.js';

describe('NATS_URL as a server list', () => {
  let dir: string;
  let server: ChildProcess;
  let port: number;
  let monitor: number;
  let bus: Bus | undefined;
  const startServer = async (): Promise<void> => {
    server = spawn(findBinary('nats-server'), ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', dir], { stdio: 'ignore' });
    await waitReady(natsProbe(port, monitor), 10_000, once(server, 'exit'));
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tally-nats-list-'));
    port = await freePort();
    monitor = await freePort();
    await startServer();
  });
  afterAll(async () => {
    await bus?.close();
    server?.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('connects when the first servers of the list are dead, and round-trips a record through R1 streams', async () => {
    const [dead1, dead2] = [await freePort(), await freePort()];
    const url = `nats://127.0.0.1:${dead1},nats://127.0.0.1:${dead2},nats://127.0.0.1:${port}`;
    const config = loadConfig({ NATS_URL: url, NATS_STREAM_REPLICAS: '1' });
    bus = await connectBus(config.natsUrl!, 'tally-test-list', config.natsSecurity);
    expect(bus.nc.getServer()).toBe(`127.0.0.1:${port}`);
    await ensureStreams(bus.jsm, streamOptions(config));
    expect((await bus.jsm.streams.info(USAGE_STREAM)).config.num_replicas).toBe(1);
    await bus.js.publish(usageSubject('acct-1'), JSON.stringify({ id: 'r1' }), { msgID: usageMsgId('acct-1', 'r1') });
    const seen: string[] = [];
    for await (const msg of readStream(bus.js, bus.jsm, USAGE_STREAM)) seen.push(msg.string());
    expect(seen).toEqual([JSON.stringify({ id: 'r1' })]);
  });

  it('says plainly when the server refuses the replica count NATS_STREAM_REPLICAS asks for', async () => {
    const config = loadConfig({ NATS_STREAM_REPLICAS: '3' });
    await expect(ensureStreams(bus!.jsm, streamOptions(config))).rejects.toThrow(
      /JetStream refused stream USAGE from 1 to 3 replicas \(NATS_STREAM_REPLICAS=3; it needs a cluster/,
    );
    // The stream is as it was.
    expect((await bus!.jsm.streams.info(USAGE_STREAM)).config.num_replicas).toBe(1);
  });

  it('names the variable of an unreadable credentials file', async () => {
    const config = loadConfig({ NATS_URL: `nats://127.0.0.1:${port}`, NATS_CREDS: join(dir, 'absent.creds') });
    await expect(connectBus(config.natsUrl!, 'tally-test-creds', config.natsSecurity)).rejects.toThrow(/^NATS_CREDS: cannot read/);
  });

  it('a stream read goes on where it stopped when the server dies mid-read (every message once, in order)', async () => {
    const before = (await bus!.jsm.streams.info(USAGE_STREAM)).state.last_seq;
    const total = 2500;
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        bus!.js.publish(usageSubject('acct-r'), JSON.stringify({ id: `m${i}` }), { msgID: usageMsgId('acct-r', `m${i}`) }),
      ),
    );
    const seqs: number[] = [];
    let restarted = false;
    for await (const msg of readStream(bus!.js, bus!.jsm, USAGE_STREAM, { startSeq: before + 1 })) {
      seqs.push(msg.seq);
      if (seqs.length === 1200 && !restarted) {
        restarted = true;
        server.kill('SIGKILL');
        await once(server, 'exit');
        await startServer();
      }
    }
    expect(restarted).toBe(true);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => before + 1 + i));
  }, 60_000);
});
