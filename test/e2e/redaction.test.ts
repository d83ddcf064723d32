import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServers, type TestServers } from '../support/servers.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** SPEC 10 / issue 16 item 7: `user:pass@` in a server URL never appears in what `tally up` prints or logs. */
describe('tally up with credentials in every server URL', () => {
  let servers: TestServers;
  let dataDir: string;

  beforeAll(async () => {
    servers = await startTestServers();
    dataDir = await mkdtemp(join(tmpdir(), 'tally-redact-'));
    // Redis checks the password; nats-server authenticates the nkey (NATS_NKEY_SEED) and ignores the URL's user, FerretDB (PLAIN) accepts any.
    const redis = new Redis(servers.redisUrl);
    await redis.call('ACL', 'SETUSER', 'tally', 'on', '>s3cret-redis', '~*', '&*', '+@all');
    await redis.quit();
  });
  afterAll(async () => {
    await servers?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints every URL with its credentials masked, and never logs them', async () => {
    const port = (url: string): string => new URL(url).port;
    const env = {
      ...process.env,
      NATS_URL: `nats://tally:s3cret-nats@127.0.0.1:${port(servers.natsUrl)}`,
      NATS_NKEY_SEED: servers.serviceNkey,
      REDIS_URL: `redis://tally:s3cret-redis@127.0.0.1:${port(servers.redisUrl)}`,
      MONGO_URL: `mongodb://tally:s3cret-mongo@127.0.0.1:${port(servers.mongoUrl)}/?authMechanism=PLAIN`,
      MONGO_DB: 'redaction',
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      ADMIN_TOKEN: 'redaction-admin-token-0123',
      LOG_LEVEL: 'debug',
    };
    const child = spawn(process.execPath, [join(ROOT, 'bin/tally.js'), 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('Ctrl-C stops everything') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;

    expect(stdout, stderr).toContain('tally is up');
    expect(stdout).toContain(`nats://***@127.0.0.1:${port(servers.natsUrl)}`);
    expect(stdout).toContain(`redis://***@127.0.0.1:${port(servers.redisUrl)}`);
    expect(stdout).toContain(`mongodb://***@127.0.0.1:${port(servers.mongoUrl)}/?authMechanism=PLAIN`);
    for (const secret of ['s3cret-nats', 's3cret-redis', 's3cret-mongo']) {
      expect(stdout.includes(secret), `${secret} printed`).toBe(false);
      expect(stderr.includes(secret), `${secret} logged`).toBe(false);
    }
  });
});

/** SPEC 14: the admin token is never written to a log or a non-terminal stdout. */
describe('tally up (embedded) with stdout to a file', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tally-token-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints where the admin token is, never the token, and logs it nowhere', async () => {
    const logFile = join(dataDir, 'up.log');
    const fd = openSync(logFile, 'w');
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: join(dataDir, 'data'), HTTP_PORT: '0', LOG_LEVEL: 'debug' };
    for (const name of ['NATS_URL', 'REDIS_URL', 'MONGO_URL', 'ADMIN_TOKEN']) delete env[name];
    const child = spawn(process.execPath, [join(ROOT, 'bin/tally.js'), 'up'], { env, stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 90_000;
    let stdout = '';
    while (!stdout.includes('Ctrl-C stops everything') && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      stdout = await readFile(logFile, 'utf8');
    }
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    stdout = await readFile(logFile, 'utf8');

    expect(stdout, stderr).toContain('tally is up');
    const token = (await readFile(join(dataDir, 'data', 'admin-token'), 'utf8')).trim();
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(stdout).toContain(`admin token created in ${join(dataDir, 'data', 'admin-token')}`);
    expect(stdout).not.toContain('#token=');
    expect(stdout.includes(token), 'token printed to the file').toBe(false);
    expect(stderr.includes(token), 'token logged').toBe(false);
  });
});
