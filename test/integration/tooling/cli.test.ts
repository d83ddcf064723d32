import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServers, type TestServers } from '../../support/servers.js';
import { probe, testConfig, type Probe } from '../../support/pipeline.js';
import { childEnv, runTally } from '../../support/processes.js';

const tally = (env: NodeJS.ProcessEnv, args: string[], input = '') => runTally(args, env, input);

describe('tally generate | replay | export from the command line', () => {
  let servers: TestServers;
  let p: Probe;
  let env: NodeJS.ProcessEnv;
  let dir: string;

  beforeAll(async () => {
    servers = await startTestServers();
    const config = testConfig(servers, { SHARDS: '2' });
    env = childEnv(config, servers, { LOG_LEVEL: 'warn' });
    p = await probe(config, servers);
    dir = await mkdtemp(join(tmpdir(), 'tally-tooling-'));
  });
  afterAll(async () => {
    await p?.close();
    await servers?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('generates the same file twice for one seed, replays it with a JSON report, and exports it back', async () => {
    const file = join(dir, 'stream.ndjson');
    const args = [
      'generate',
      '--records',
      '400',
      '--accounts',
      '7',
      '--seed',
      '5',
      '--dup-rate',
      '0.05',
      '--bad-rate',
      '0.05',
      '--now',
      new Date().toISOString(),
    ];
    expect((await tally(env, [...args, '--out', file])).code).toBe(0);
    const first = await readFile(file, 'utf8');
    expect((await tally(env, args)).stdout).toBe(first);
    expect(first.split('\n').filter(Boolean)).toHaveLength(400);

    const replay = await tally(env, ['replay', file, '--json', '--window', '50']);
    expect(replay.code).toBe(0);
    const report = JSON.parse(replay.stdout) as Record<string, number>;
    expect(report).toMatchObject({ lines: 400, sent: 400, acked: 400, errors: 0 });
    expect(report['duplicates']).toBeGreaterThan(0);

    const exported = await tally(env, ['export']);
    expect(exported.code).toBe(0);
    const lines = exported.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { subject: string; headers?: Record<string, string> });
    expect(lines).toHaveLength(400 - report['duplicates']!);
    // Records with a readable id were sent with Nats-Msg-Id; the export keeps it for the next replay.
    expect(lines.filter((l) => l.headers?.['Nats-Msg-Id']).length).toBeGreaterThan(300);

    // An exported stream replays as is, from stdin too; every id is now a JetStream duplicate.
    const again = await tally(env, ['replay', '-', '--json'], exported.stdout);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ sent: lines.length, duplicates: lines.filter((l) => l.headers?.['Nats-Msg-Id']).length });
    const human = await tally(env, ['replay', file]);
    expect(human.stdout).toMatch(/^sent +400\nacked +400\nduplicates +\d+/);
  });

  it('refuses bad options with a message', async () => {
    const bad = await tally(env, ['generate', '--bad-rate', '2']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--bad-rate.*must be a number from 0 to 1/);
    const since = await tally(env, ['export', '--since', 'yesterday']);
    expect(since.code).not.toBe(0);
    expect(since.stderr).toMatch(/RFC 3339/);
  });
});
