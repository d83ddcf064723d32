/**
 * The Redis engines of the cluster run, each with the one fault it must survive:
 * - `sentinel`: a primary, a replica and 3 sentinels (quorum 2); the fault SIGKILLs the
 *   primary, waits until the sentinels name the replica primary, and starts the old
 *   primary again (the sentinels make it a replica of the new one).
 * - `cluster`: a Redis Cluster of 3 primaries without replicas; the fault SIGKILLs one
 *   primary and starts it again on its port, AOF and nodes.conf (with no replica to
 *   promote, its slots are unavailable meanwhile).
 * Real redis-server processes (Debian's runs `--sentinel`) on free loopback ports, each
 * requiring a password generated per engine, as compose.cluster.yaml's do: the data nodes
 * theirs (`requirepass`, `masterauth`; in REDIS_URL), the sentinels their own
 * (REDIS_SENTINEL_PASSWORD).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { freePort } from '../../shared/runtime/index.js';
import type { Probe } from '../../shared/runtime/probes.js';
import { ServerProcess } from '../../shared/runtime/serverProcess.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const REDIS_SERVER = process.env['TALLY_REDIS_SERVER'] ?? '/usr/bin/redis-server';
const REDIS_CLI = process.env['TALLY_REDIS_CLI'] ?? '/usr/bin/redis-cli';
export const SENTINEL_MASTER = 'mymaster';

export type RedisKind = 'sentinel' | 'cluster';

export interface RedisEngine {
  kind: RedisKind;
  /** REDIS_URL for the product, the data nodes' password in it. */
  url: string;
  /** The variables the product needs besides REDIS_URL (REDIS_SENTINEL_PASSWORD). */
  env: Record<string, string>;
  /** Injects the engine's fault and repairs it; resolves with what happened. */
  failover(log: (line: string) => void): Promise<string>;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** PING must answer PONG once authenticated (not LOADING while the AOF is replayed). */
const ping =
  (port: number, password: string): Probe =>
  async () => {
    const reply = await command(port, password, 'PING');
    if (reply !== 'PONG') throw new Error(`redis PING: ${String(reply)}`);
  };

/** One redis-server node under `dir`, requiring `password` and presenting it to its primary. */
function node(dir: string, name: string, port: number, password: string, args: string[]): ServerProcess {
  const data = join(dir, name);
  return new ServerProcess(
    {
      name: 'redis',
      binary: REDIS_SERVER,
      dataPath: data,
      logFile: join(dir, `${name}.log`),
      args: [
        ...args,
        '--requirepass',
        password,
        '--masterauth',
        password,
        '--port',
        String(port),
        '--bind',
        HOST,
        '--dir',
        data,
        '--daemonize',
        'no',
        '--logfile',
        '',
      ],
      probe: ping(port, password),
    },
    pino({ level: 'warn' }),
  );
}

const DATA = ['--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'];
const secret = (): string => randomBytes(18).toString('hex');

/** Sends one command to HOST:port, authenticated with `password`, and returns the reply. */
async function command(port: number, password: string, ...args: string[]): Promise<unknown> {
  const r = new Redis({ host: HOST, port, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

export async function startRedisSentinel(): Promise<RedisEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'tally-redis-sentinel-'));
  const [p0, p1, ...sp] = await Promise.all(Array.from({ length: 5 }, () => freePort(HOST)));
  const password = secret();
  const sentinelPassword = secret();
  const data = [node(dir, 'r0', p0!, password, DATA), node(dir, 'r1', p1!, password, [...DATA, '--replicaof', HOST, String(p0)])];
  const ports = [p0!, p1!];
  const sentinels = await Promise.all(
    sp.map(async (port, i) => {
      await mkdir(join(dir, `s${i}`), { recursive: true });
      const conf = join(dir, `s${i}`, 'sentinel.conf');
      // requirepass: its own password, also what it presents to the other sentinels; auth-pass: the data nodes'.
      await writeFile(
        conf,
        [
          `requirepass ${sentinelPassword}`,
          `sentinel monitor ${SENTINEL_MASTER} ${HOST} ${p0} 2`,
          `sentinel auth-pass ${SENTINEL_MASTER} ${password}`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} 2000`,
          `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
          '',
        ].join('\n'),
      );
      return new ServerProcess(
        {
          name: 'redis',
          binary: REDIS_SERVER,
          dataPath: join(dir, `s${i}`),
          logFile: join(dir, `s${i}.log`),
          args: [conf, '--sentinel', '--port', String(port), '--bind', HOST, '--daemonize', 'no', '--logfile', ''],
          probe: ping(port, sentinelPassword),
        },
        pino({ level: 'warn' }),
      );
    }),
  );
  const all = [...data, ...sentinels];
  const close = async (): Promise<void> => {
    await Promise.all(all.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  /** The primary's port as the sentinels' majority names it. */
  const primaryPort = async (): Promise<number | undefined> => {
    const named = await Promise.all(
      sp.map((port) => command(port, sentinelPassword, 'SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER).catch(() => null)),
    );
    const ports = named.filter((a): a is [string, string] => Array.isArray(a)).map((a) => Number(a[1]));
    const p = ports.sort().find((x, _, arr) => arr.filter((y) => y === x).length >= 2);
    return p;
  };
  try {
    await data[0]!.start();
    await data[1]!.start();
    await until(
      'replica in sync',
      30_000,
      async () => ((await command(p1!, password, 'INFO', 'replication')) as string).includes('master_link_status:up') || undefined,
    );
    await Promise.all(sentinels.map((s) => s.start()));
    await until('sentinels agree on the primary and see 2 other sentinels', 30_000, async () => {
      if ((await primaryPort()) !== p0) return undefined;
      const masters = await Promise.all(sp.map((port) => command(port, sentinelPassword, 'SENTINEL', 'master', SENTINEL_MASTER) as Promise<string[]>));
      return masters.every((m) => Number(m[m.indexOf('num-other-sentinels') + 1]) >= 2 && Number(m[m.indexOf('num-slaves') + 1]) >= 1) || undefined;
    });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    kind: 'sentinel',
    url: `redis+sentinel://:${password}@${sp.map((p) => `${HOST}:${p}`).join(',')}/${SENTINEL_MASTER}`,
    env: { REDIS_SENTINEL_PASSWORD: sentinelPassword },
    async failover(log) {
      const before = (await primaryPort())!;
      const i = ports.indexOf(before);
      const t0 = Date.now();
      await data[i]!.kill('SIGKILL');
      log(`redis: SIGKILL primary r${i} (port ${before}); waiting for the sentinels to promote the replica`);
      const after = await until('sentinels promote the replica', 60_000, async () => {
        const p = await primaryPort();
        return p !== undefined && p !== before ? p : undefined;
      });
      const promoted = ((Date.now() - t0) / 1000).toFixed(1);
      await data[i]!.start();
      // The sentinels turn the old primary into a replica of the new one.
      await until(
        'old primary rejoins as a replica',
        60_000,
        async () => ((await command(before, password, 'INFO', 'replication')) as string).includes('master_link_status:up') || undefined,
      );
      return `SIGKILL redis primary r${i} (port ${before}); sentinels promoted r${ports.indexOf(after)} (port ${after}) in ${promoted} s; r${i} started again and replicates from it`;
    },
    close,
  };
}

export async function startRedisCluster(size = 3): Promise<RedisEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'tally-redis-cluster-'));
  const ports = await Promise.all(Array.from({ length: size }, () => freePort(HOST)));
  // The bus port is named: the default (port + 10000) may lie past 65535 for a kernel-chosen port.
  const busPorts = await Promise.all(ports.map(() => freePort(HOST)));
  const password = secret();
  const nodes = ports.map((port, i) =>
    node(dir, `c${i}`, port, password, [
      ...DATA,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '2000',
      '--cluster-port',
      String(busPorts[i]),
    ]),
  );
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  const clusterOk = async (): Promise<true | undefined> => {
    const infos = await Promise.all(ports.map((p) => command(p, password, 'CLUSTER', 'INFO') as Promise<string>));
    return infos.every((s) => s.includes('cluster_state:ok') && s.includes(`cluster_known_nodes:${size}`)) || undefined;
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await run(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      env: { ...process.env, REDISCLI_AUTH: password },
    });
    await until('cluster_state:ok on every node', 60_000, clusterOk);
  } catch (err) {
    await close();
    throw err;
  }
  let next = 0;
  return {
    kind: 'cluster',
    url: `redis+cluster://:${password}@${ports.map((p) => `${HOST}:${p}`).join(',')}`,
    env: {},
    async failover(log) {
      const i = next++ % size;
      const t0 = Date.now();
      await nodes[i]!.kill('SIGKILL');
      log(`redis: SIGKILL cluster primary c${i} (port ${ports[i]}), no replica to promote; starting it again`);
      await sleep(3000);
      await nodes[i]!.start();
      await until('cluster_state:ok again', 60_000, clusterOk);
      return `SIGKILL redis cluster primary c${i} (port ${ports[i]}); started again on its AOF and nodes.conf, cluster ok after ${((Date.now() - t0) / 1000).toFixed(1)} s`;
    },
    close,
  };
}

export function startRedis(kind: RedisKind): Promise<RedisEngine> {
  return kind === 'sentinel' ? startRedisSentinel() : startRedisCluster(3);
}
