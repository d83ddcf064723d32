import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../../../shared/bus/index.js';
import { findBinary } from '../../../shared/runtime/binaries.js';
import { DATA_DIR_ENV, DataDirLock } from '../../../shared/runtime/dataDirLock.js';
import { isAlive } from '../../../shared/runtime/processInfo.js';
import { freePort, readEndpoints, resolveEndpoints, startEmbedded, type Embedded } from '../../../shared/runtime/index.js';
import { testLogger } from '../../support/servers.js';

const logger = testLogger();
const tempDir = () => mkdtemp(join(tmpdir(), 'tally-embedded-'));

async function waitGone(pids: number[], ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) throw new Error(`still alive: ${pids.filter(isAlive).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('startEmbedded', () => {
  let dataDir: string;
  let embedded: Embedded;

  beforeAll(async () => {
    dataDir = await tempDir();
    embedded = await startEmbedded({ dataDir, logger });
  });

  afterAll(async () => {
    await embedded?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves NATS with JetStream, Redis with AOF and MongoDB on free ports, never the machine defaults', async () => {
    expect(embedded.natsUrl).not.toMatch(/:4222$/);
    expect(embedded.redisUrl).not.toMatch(/:6379$/);
    const bus = await connectBus(embedded.natsUrl, 'test-embedded', embedded.natsSecurity);
    expect((await bus.jsm.getAccountInfo()).limits).toBeDefined();
    await bus.close();
    const redis = new Redis(embedded.redisUrl);
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    redis.disconnect();
    const mongo = await new MongoClient(embedded.mongoUrl).connect();
    expect((await mongo.db('admin').command({ ping: 1 })).ok).toBe(1);
    await mongo.close();
  });

  it('requires an identity: NATS refuses anonymous clients, Redis its password, and both listen on loopback only', async () => {
    await expect(connect({ servers: embedded.natsUrl, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    const { port, hostname } = new URL(embedded.redisUrl);
    expect([hostname, new URL(embedded.natsUrl).hostname, new URL(embedded.mongoUrl).hostname]).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    const anonymous = new Redis({ port: Number(port), host: hostname, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
    await expect(anonymous.connect().then(() => anonymous.get('k'))).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
  });

  it('keeps the seeds, the Redis password and endpoints.json readable by this user only, and the password off command lines', async () => {
    for (const file of ['service.nk', 'producer.nk', 'redis.pass', 'endpoints.json', 'nats.conf', 'redis.conf']) {
      expect(((await stat(join(dataDir, file))).mode & 0o777).toString(8), file).toBe('600');
    }
    const password = (await readFile(join(dataDir, 'redis.pass'), 'utf8')).trim();
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(embedded.redisUrl).toContain(`:${password}@`);
    for (const pid of Object.values(embedded.pids())) {
      expect(await readFile(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(password);
    }
    expect((await readFile(join(dataDir, 'service.nk'), 'utf8')).startsWith('SU')).toBe(true);
  });

  it('publishes endpoints.json for other commands, and resolveEndpoints prefers configured URLs', async () => {
    const file = await readEndpoints(dataDir);
    expect(file).toMatchObject({
      natsUrl: embedded.natsUrl,
      redisUrl: embedded.redisUrl,
      mongoUrl: embedded.mongoUrl,
      pid: process.pid,
      serviceNkey: join(dataDir, 'service.nk'),
      producerNkey: join(dataDir, 'producer.nk'),
    });
    expect(await resolveEndpoints({ dataDir })).toEqual({
      natsUrl: embedded.natsUrl,
      natsSecurity: { nkeySeedFile: join(dataDir, 'service.nk') },
      redisUrl: embedded.redisUrl,
      mongoUrl: embedded.mongoUrl,
    });
    expect(await resolveEndpoints({ dataDir, mongoUrl: 'mongodb://db.example:27017/' })).toMatchObject({
      natsUrl: embedded.natsUrl,
      mongoUrl: 'mongodb://db.example:27017/',
    });
  });

  it('refuses a second start on the same data folder, naming the owner pid', async () => {
    await expect(startEmbedded({ dataDir, logger })).rejects.toMatchObject({ code: 'embedded_busy', message: expect.stringContaining(`pid ${process.pid}`) });
  });

  it('restarts Redis on the same URL with its AOF data, or empty with wipe', async () => {
    const redis = new Redis(embedded.redisUrl, { maxRetriesPerRequest: null });
    await redis.set('k', 'v');
    const before = embedded.pids().redis;
    await embedded.restart('redis');
    expect(embedded.pids().redis).not.toBe(before);
    expect(await redis.get('k')).toBe('v');
    await embedded.restart('redis', { wipe: true });
    expect(await redis.get('k')).toBeNull();
    redis.disconnect();
    const pids = JSON.parse(await readFile(join(dataDir, 'pids.json'), 'utf8')) as { children: Record<string, number> };
    expect(pids.children.redis).toBe(embedded.pids().redis);
  });

  it('kill takes a server down at once; restart brings it back on the same URL', async () => {
    const pid = embedded.pids().nats!;
    await embedded.kill('nats', 'SIGKILL');
    expect(isAlive(pid)).toBe(false);
    await embedded.restart('nats');
    const bus = await connectBus(embedded.natsUrl, 'test-embedded', embedded.natsSecurity);
    await bus.nc.flush();
    await bus.close();
  });

  it('stop ends every server and removes endpoints.json and pids.json', async () => {
    const pids = Object.values(embedded.pids());
    await embedded.stop();
    await embedded.stop();
    await waitGone(pids as number[], 1_000);
    expect(existsSync(join(dataDir, 'endpoints.json'))).toBe(false);
    expect(existsSync(join(dataDir, 'pids.json'))).toBe(false);
    await expect(readEndpoints(dataDir)).rejects.toMatchObject({ code: 'endpoints_missing' });
  });
});

describe('a data folder from before identities', () => {
  it("keeps its streams: the anonymous account's become the services account's", async () => {
    const dataDir = await tempDir();
    try {
      const port = await freePort();
      const old = spawn(findBinary('nats-server'), ['-js', '-sd', join(dataDir, 'nats'), '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      const exited = new Promise((r) => old.once('exit', r));
      const nc = await connect({ servers: `nats://127.0.0.1:${port}`, waitOnFirstConnect: true });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'USAGE', subjects: ['usage.>'] });
      await jetstream(nc).publish('usage.acct-old', 'accepted before the upgrade');
      await nc.close();
      old.kill('SIGTERM');
      await exited;
      const embedded = await startEmbedded({ dataDir, logger });
      try {
        const bus = await connectBus(embedded.natsUrl, 'test-embedded', embedded.natsSecurity);
        expect((await bus.jsm.streams.getMessage('USAGE', { seq: 1 }))?.string()).toBe('accepted before the upgrade');
        await bus.close();
      } finally {
        await embedded.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a crashed owner', () => {
  it('takes its servers with it (SIGKILL included), and the folder starts again', async () => {
    const dataDir = await tempDir();
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/fixtures/embedded-owner.ts', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (b: Buffer) => resolve(b.toString()));
        child.once('exit', (code) => reject(new Error(`owner exited ${code}`)));
      });
      const pids = Object.values(JSON.parse(line) as Record<string, number>);
      expect(pids).toHaveLength(3);
      child.kill('SIGKILL');
      await waitGone(pids);
      // endpoints.json is left behind but recognised as stale.
      await expect(readEndpoints(dataDir)).rejects.toMatchObject({ code: 'endpoints_missing', message: expect.stringContaining('stale') });
      const secrets = await Promise.all(['service.nk', 'producer.nk', 'redis.pass'].map((f) => readFile(join(dataDir, f), 'utf8')));
      const again = await startEmbedded({ dataDir, logger });
      try {
        // The identities producers were handed survive a restart.
        expect(await Promise.all(['service.nk', 'producer.nk', 'redis.pass'].map((f) => readFile(join(dataDir, f), 'utf8')))).toEqual(secrets);
        const redis = new Redis(again.redisUrl);
        expect(await redis.ping()).toBe('PONG');
        redis.disconnect();
      } finally {
        await again.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('leaves servers behind that the next start stops, recognising them by their data folder', async () => {
    const dataDir = await tempDir();
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    const ours = spawn('sleep', ['60'], { env: { ...process.env, [DATA_DIR_ENV]: dataDir } });
    const stranger = spawn('sleep', ['60']);
    try {
      await writeFile(join(dataDir, 'pids.json'), JSON.stringify({ owner: dead.pid, startedAt: 'then', children: { redis: ours.pid, nats: stranger.pid } }));
      const lock = await DataDirLock.acquire(dataDir, logger);
      await waitGone([ours.pid!], 1_000);
      expect(isAlive(stranger.pid!)).toBe(true);
      await lock.release();
    } finally {
      stranger.kill();
      ours.kill();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
