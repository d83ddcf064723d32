/**
 * Real Redis topologies on loopback for tests and scripts (no vitest import: a plain tsx
 * script such as `npm run test:cluster` uses them too): a Sentinel set (primary, replica,
 * three sentinels) and a Redis Cluster of N primaries, each server a `redis-server` child on
 * free ports under a temporary folder, its log in `<dir>/<name>.log`. Every server requires
 * a password generated per set (SPEC 14: Redis requires one in every shipped setup): the
 * data nodes theirs (`requirepass`, `masterauth`), the sentinels their own.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../shared/runtime/freePort.js';

const HOST = '127.0.0.1';
const REDIS_SERVER = process.env['REDIS_SERVER_BIN'] ?? 'redis-server';

interface ServerProcess {
  name: string;
  port: number;
  child: ChildProcess;
  exited: Promise<unknown>;
}

/** Runs `redis-server <args>` with its output in `<dir>/<name>.log`; resolves once it answers PING (after AUTH `password`). */
async function startServer(dir: string, name: string, port: number, args: string[], password: string): Promise<ServerProcess> {
  const log = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = once(child, 'exit').catch(() => undefined);
  const server = { name, port, child, exited };
  await waitFor(async () => (await command(port, ['PING'], password)) === 'PONG', 10_000, `${name} (port ${port}) answering PING`, exited);
  return server;
}

/** One command on a short-lived connection; null when the server does not answer. */
async function command(port: number, args: string[], password?: string): Promise<unknown> {
  const redis = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    enableOfflineQueue: false,
    ...(password ? { password } : {}),
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(args[0]!, ...args.slice(1));
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, gone?: Promise<unknown>): Promise<void> {
  let exited = false;
  void gone?.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`exited while waiting for ${what}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function killServer(server: ServerProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill(signal);
  await server.exited;
}

const secret = (): string => randomBytes(18).toString('hex');
const common = (port: number, password: string): string[] => [
  '--port',
  String(port),
  '--bind',
  HOST,
  '--save',
  '',
  '--appendonly',
  'no',
  '--requirepass',
  password,
  '--masterauth',
  password,
];

export interface RedisSentinelSet {
  /** `redis+sentinel://:<password>@127.0.0.1:a,127.0.0.1:b,127.0.0.1:c/<masterName>` */
  url: string;
  /** The data nodes' password (in `url`). */
  password: string;
  /** The sentinels' own (REDIS_SENTINEL_PASSWORD, ioredis' `sentinelPassword`). */
  sentinelPassword: string;
  masterName: string;
  sentinelPorts: number[];
  /** The ports of the two data servers (the first started as the primary). */
  dataPorts: number[];
  dir: string;
  /** The port of the primary the sentinels name now. */
  primaryPort(): Promise<number>;
  /** kill -9 of the current primary; resolves with its port once it is gone. */
  killPrimary(): Promise<number>;
  /** Waits until the sentinels name a primary other than `formerPort` and it accepts writes. */
  waitForFailover(formerPort: number, timeoutMs?: number): Promise<number>;
  /** Stops every server and removes the folder. */
  close(): Promise<void>;
}

export interface SentinelSetOptions {
  /** @defaultValue 'mymaster' */
  masterName?: string;
  /** How long a primary may be silent before the sentinels call it down. @defaultValue 1000 */
  downAfterMs?: number;
  /** @defaultValue 5000 */
  failoverTimeoutMs?: number;
}

/** Redis primary + replica + 3 sentinels (quorum 2), each sentinel with its own conf file (sentinels rewrite it). */
export async function startRedisSentinelSet(options: SentinelSetOptions = {}): Promise<RedisSentinelSet> {
  const masterName = options.masterName ?? 'mymaster';
  const dir = await mkdtemp(join(tmpdir(), 'tally-redis-sentinel-'));
  const servers: ServerProcess[] = [];
  const password = secret();
  const sentinelPassword = secret();
  const close = async (): Promise<void> => {
    await Promise.all(servers.map((s) => killServer(s, 'SIGKILL')));
    if (!process.env['TALLY_KEEP_TEST_DATA']) await rm(dir, { recursive: true, force: true });
  };
  try {
    const primaryPort = await freePort(HOST);
    servers.push(await startServer(dir, 'primary', primaryPort, common(primaryPort, password), password));
    const replicaPort = await freePort(HOST);
    servers.push(await startServer(dir, 'replica', replicaPort, [...common(replicaPort, password), '--replicaof', HOST, String(primaryPort)], password));
    await waitFor(
      async () => String(await command(replicaPort, ['INFO', 'replication'], password)).includes('master_link_status:up'),
      10_000,
      'the replica in sync',
    );
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort(HOST);
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `dir ${dir}`,
          // Its own password, also what it presents to the other sentinels; auth-pass: the data nodes'.
          `requirepass ${sentinelPassword}`,
          `sentinel monitor ${masterName} ${HOST} ${primaryPort} 2`,
          `sentinel auth-pass ${masterName} ${password}`,
          `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 5000}`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      servers.push(await startServer(dir, `sentinel-${i}`, port, [conf, '--sentinel'], sentinelPassword));
      sentinelPorts.push(port);
    }
    // Every sentinel has found the replica and the other sentinels: a failover can be agreed.
    await waitFor(
      async () => {
        const views = await Promise.all(sentinelPorts.map((p) => command(p, ['SENTINEL', 'MASTER', masterName], sentinelPassword)));
        return views.every((v) => {
          const fields = Array.isArray(v) ? (v as string[]) : [];
          const field = (k: string) => Number(fields[fields.indexOf(k) + 1] ?? 0);
          return field('num-slaves') >= 1 && field('num-other-sentinels') >= 2;
        });
      },
      20_000,
      'the sentinels to know the replica and each other',
    );
    const primaryNow = async (): Promise<number> => {
      for (const p of sentinelPorts) {
        const addr = await command(p, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName], sentinelPassword);
        if (Array.isArray(addr)) return Number(addr[1]);
      }
      throw new Error('no sentinel answered');
    };
    return {
      url: `redis+sentinel://:${password}@${sentinelPorts.map((p) => `${HOST}:${p}`).join(',')}/${masterName}`,
      password,
      sentinelPassword,
      masterName,
      sentinelPorts,
      dataPorts: [primaryPort, replicaPort],
      dir,
      primaryPort: primaryNow,
      killPrimary: async () => {
        const port = await primaryNow();
        const server = servers.find((s) => s.port === port);
        if (!server) throw new Error(`no server of this set on port ${port}`);
        await killServer(server, 'SIGKILL');
        return port;
      },
      waitForFailover: async (formerPort, timeoutMs = 20_000) => {
        let promoted = 0;
        await waitFor(
          async () => {
            promoted = await primaryNow();
            return promoted !== formerPort && String(await command(promoted, ['ROLE'], password)).startsWith('master');
          },
          timeoutMs,
          `a failover away from port ${formerPort}`,
        );
        return promoted;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface RedisClusterSet {
  /** `redis+cluster://:<password>@127.0.0.1:a,127.0.0.1:b,...` */
  url: string;
  /** Every node's password (in `url`). */
  password: string;
  ports: number[];
  dir: string;
  /** The port of the node that serves `key`'s slot now. */
  nodeOf(key: string): Promise<number>;
  /** kill -9 of the node on `port`. */
  kill(port: number): Promise<void>;
  close(): Promise<void>;
}

/** A Redis Cluster of `primaries` nodes (no replicas), slots spread by `redis-cli --cluster create`; resolves once `cluster_state:ok`. */
export async function startRedisCluster(primaries = 3): Promise<RedisClusterSet> {
  const dir = await mkdtemp(join(tmpdir(), 'tally-redis-cluster-'));
  const servers: ServerProcess[] = [];
  const password = secret();
  const close = async (): Promise<void> => {
    await Promise.all(servers.map((s) => killServer(s, 'SIGKILL')));
    if (!process.env['TALLY_KEEP_TEST_DATA']) await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries; i++) {
      const port = await freePort(HOST);
      // The bus port is named: the default (port + 10000) may lie past 65535 for a kernel-chosen port.
      const busPort = await freePort(HOST);
      servers.push(
        await startServer(
          dir,
          `node-${i}`,
          port,
          [
            ...common(port, password),
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${i}.conf`),
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            '2000',
          ],
          password,
        ),
      );
    }
    const ports = servers.map((s) => s.port);
    const create = spawn('redis-cli', ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REDISCLI_AUTH: password },
    });
    let output = '';
    create.stdout.on('data', (c: Buffer) => (output += c.toString()));
    create.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const [code] = (await once(create, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`redis-cli --cluster create exited ${code}: ${output.slice(-500)}`);
    await waitFor(
      async () => {
        const infos = await Promise.all(ports.map((p) => command(p, ['CLUSTER', 'INFO'], password)));
        return infos.every((info) => String(info).includes('cluster_state:ok'));
      },
      20_000,
      'cluster_state:ok on every node',
    );
    return {
      url: `redis+cluster://:${password}@${ports.map((p) => `${HOST}:${p}`).join(',')}`,
      password,
      ports,
      dir,
      nodeOf: async (key) => {
        const slot = Number(await command(ports[0]!, ['CLUSTER', 'KEYSLOT', key], password));
        const slots = (await command(ports[0]!, ['CLUSTER', 'SLOTS'], password)) as [number, number, [string, number]][];
        const range = slots.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no node serves slot ${slot}`);
        return Number(range[2][1]);
      },
      kill: async (port) => {
        const server = servers.find((s) => s.port === port);
        if (server) await killServer(server, 'SIGKILL');
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
