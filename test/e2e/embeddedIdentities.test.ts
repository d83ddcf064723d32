import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTally, waitFor } from '../support/processes.js';
import { usage } from '../support/records.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const NATS_CLI = join(ROOT, '.tools/bin/nats');

/**
 * SPEC 14 on the embedded default, as README "Try it" runs it: `tally up` with no URLs, a
 * producer publishing with `nats --nkey DATA_DIR/producer.nk`, and other `tally` commands
 * on the same DATA_DIR connecting as the services by themselves.
 */
describe('tally up on the embedded default, with its generated identities', () => {
  let dataDir: string;
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let env: NodeJS.ProcessEnv;
  const natsUrl = async () => (JSON.parse(await readFile(join(dataDir, 'endpoints.json'), 'utf8')) as { natsUrl: string }).natsUrl;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tally-identities-'));
    const { NATS_URL: _n, REDIS_URL: _r, MONGO_URL: _m, NATS_NKEY_SEED: _s, NATS_CREDS: _c, ...inherited } = process.env;
    env = { ...inherited, DATA_DIR: dataDir, HTTP_PORT: '0', MONGO_DB: 'identities', SHARDS: '2', LOG_LEVEL: 'debug' };
    child = spawn(process.execPath, [join(ROOT, 'bin/tally.js'), 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => stdout.includes('Ctrl-C stops everything') || child.exitCode !== null, 90_000, 'tally up');
    expect(stdout, stderr).toContain('tally is up');
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a producer publishes with the producer seed and is charged; tally stats and accounts need nothing but DATA_DIR', async () => {
    const record = usage('r1', 'acct-1', { kind: 'llm_token', quantity: 120_000 });
    const url = await natsUrl();
    await run(NATS_CLI, [
      '--server',
      url,
      '--nkey',
      join(dataDir, 'producer.nk'),
      'pub',
      '--jetstream',
      'usage.acct-1',
      JSON.stringify(record),
      '-H',
      'Nats-Msg-Id:acct-1/r1',
    ]);
    // Anonymous, the same publish is refused.
    await expect(run(NATS_CLI, ['--server', url, 'pub', 'usage.acct-1', JSON.stringify(record)])).rejects.toThrow(/Authorization Violation/i);
    await waitFor(async () => JSON.parse((await runTally(['stats'], env)).stdout || '{}').charged === 1, 60_000, 'the record charged');
    const accounts = (await runTally(['accounts'], env)).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // llm_token: 150000 micros per 1e6 tokens.
    expect(accounts).toMatchObject([{ account_id: 'acct-1', balance_micros: -18_000 }]);
  });

  it('names the producer seed in the banner, and never prints or logs the Redis password or a seed', async () => {
    expect(stdout).toContain(`--nkey ${join(dataDir, 'producer.nk')}`);
    const secrets = await Promise.all(['redis.pass', 'service.nk', 'producer.nk'].map(async (f) => (await readFile(join(dataDir, f), 'utf8')).trim()));
    for (const secret of secrets) {
      expect(stdout.includes(secret), 'printed').toBe(false);
      expect(stderr.includes(secret), 'logged').toBe(false);
    }
    expect(stdout).toMatch(/redis:\/\/\*\*\*@127\.0\.0\.1:\d+/);
  });
});
