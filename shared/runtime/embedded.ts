import { chmod, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { findBinary } from './binaries.js';
import { DATA_DIR_ENV, DataDirLock } from './dataDirLock.js';
import { SERVICES_ACCOUNT, natsServerConfig, redisServerConfig } from './embeddedConfig.js';
import { removeEndpoints, writeEndpoints, type Endpoints } from './endpoints.js';
import { freePort } from './freePort.js';
import { readOrCreateIdentities, type EmbeddedIdentities } from './identities.js';
import { redactUrl } from './redact.js';
import { mongoProbe, natsProbe, redisProbe } from './probes.js';
import { ServerProcess, type ServerName, type ServerSpec } from './serverProcess.js';

export interface EmbeddedOptions {
  /** The data folder: servers' data, logs/, pids.json and endpoints.json. */
  dataDir: string;
  logger: Logger;
  /** Looked in first for nats-server, tally-ferretdb and redis-server. @defaultValue the repo's .tools/bin, then PATH */
  binDir?: string;
  /** How long each server may take to answer its protocol's ping. @defaultValue 30000 */
  readyTimeoutMs?: number;
}

/** Local servers that live as long as the process that started them. */
export interface Embedded extends Endpoints {
  /** Absolute path of the data folder. */
  readonly dataDir: string;
  /** Seed file of the services' NATS user (what `natsSecurity` names). */
  readonly serviceNkey: string;
  /** Seed file of the producers' NATS user: publish `usage.>`, nothing else (SPEC 14). */
  readonly producerNkey: string;
  pids(): Partial<Record<ServerName, number>>;
  /** Removes endpoints.json, stops every server (SIGTERM, then SIGKILL after 10 s), releases the folder. Idempotent. */
  stop(): Promise<void>;
  /** Fault injection: sends `signal` (default SIGKILL) to one server; see ServerProcess.kill. */
  kill(name: ServerName, signal?: NodeJS.Signals): Promise<void>;
  /** Restarts one server on the same port; `wipe` empties its data first (e.g. Redis losing every queue). */
  restart(name: ServerName, options?: { wipe?: boolean }): Promise<void>;
}

const HOST = '127.0.0.1';
const PORT_ATTEMPTS = 3;

type SpecBuilder = (ports: number[]) => ServerSpec;

/**
 * SQLite reads `file:` URIs, where these three characters would start a query, fragment or
 * escape. `synchronous(normal)` (WAL without an fsync per commit) keeps every committed
 * write through a killed process, the failure model of SPEC 9, but not through a power
 * loss, like JetStream's own default (fsync every 2 min); it makes each store transaction
 * ~2.5x cheaper here (docs/decisions/001-embedded-store.md). Production runs on MONGO_URL.
 */
function sqliteDirUri(dir: string): string {
  return `file:${dir.replace(/[%?#]/g, (c) => encodeURIComponent(c))}/?_pragma=synchronous(normal)`;
}

/** Configuration files hold public keys and the Redis password: mode 600, rewritten at every start. */
async function writePrivate(path: string, text: string): Promise<string> {
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

function specBuilders(
  dataDir: string,
  confs: { nats: string; redis: string },
  redisPassword: string,
  binDir: string | undefined,
  logger: Logger,
  readyTimeoutMs: number | undefined,
): Record<ServerName, [number, SpecBuilder]> {
  const common = (name: ServerName, dir: string) => ({
    name,
    dataPath: join(dataDir, dir),
    logFile: join(dataDir, 'logs', `${name}.log`),
    env: { [DATA_DIR_ENV]: dataDir },
    ...(readyTimeoutMs === undefined ? {} : { readyTimeoutMs }),
  });
  const nats = findBinary('nats-server', binDir);
  const redis = findBinary('redis-server', binDir);
  const ferretdb = findBinary('tally-ferretdb', binDir);
  return {
    nats: [
      2,
      ([port = 0, monitorPort = 0]) => ({
        ...common('nats', 'nats'),
        binary: nats,
        args: ['-c', confs.nats, '-a', HOST, '-p', String(port), '-m', String(monitorPort)],
        probe: natsProbe(port, monitorPort, HOST),
      }),
    ],
    redis: [
      1,
      ([port = 0]) => ({
        ...common('redis', 'redis'),
        binary: redis,
        // AOF on and RDB snapshots off: every acknowledged write survives a restart, and
        // noeviction because BullMQ must never lose a key to memory pressure.
        args: [
          confs.redis,
          '--port',
          String(port),
          '--bind',
          HOST,
          '--dir',
          join(dataDir, 'redis'),
          '--appendonly',
          'yes',
          '--save',
          '',
          '--maxmemory-policy',
          'noeviction',
          '--daemonize',
          'no',
          '--logfile',
          '',
        ],
        probe: redisProbe(port, HOST, redisPassword),
      }),
    ],
    ferretdb: [
      1,
      ([port = 0]) => ({
        ...common('ferretdb', 'ferretdb'),
        binary: ferretdb,
        args: [
          '-listen-addr',
          `${HOST}:${port}`,
          '-handler',
          'sqlite',
          '-sqlite-url',
          sqliteDirUri(join(dataDir, 'ferretdb')),
          '-log-level',
          logger.isLevelEnabled('debug') ? 'info' : 'warn',
        ],
        probe: mongoProbe(`mongodb://${HOST}:${port}/`),
      }),
    ],
  };
}

/** Starts one server on fresh ports, trying new ones when another process took them first. */
async function startOnFreePorts(build: SpecBuilder, portCount: number, logger: Logger): Promise<{ server: ServerProcess; ports: number[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await Promise.all(Array.from({ length: portCount }, () => freePort(HOST)));
    const server = new ServerProcess(build(ports), logger);
    try {
      await server.start();
      return { server, ports };
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/address already in use/i.test((err as Error).message)) throw err;
      logger.warn({ server: server.spec.name, ports }, 'port taken before the server bound it; retrying');
    }
  }
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * JetStream keeps each account's streams in a folder named for it. A data folder from
 * before identities has them under the anonymous account `$G`: they become the services
 * account's, so records accepted then and not yet charged are charged now.
 */
async function adoptAnonymousStreams(dataDir: string, logger: Logger): Promise<void> {
  const store = join(dataDir, 'nats', 'jetstream');
  const [from, to] = [join(store, '$G'), join(store, SERVICES_ACCOUNT)];
  if ((await exists(from)) && !(await exists(to))) {
    await rename(from, to);
    logger.info({ from, to }, 'streams of the anonymous NATS account moved to the services account');
  }
}

/** Writes the servers' configuration files for `identities`; returns their paths. */
async function writeConfigs(dataDir: string, identities: EmbeddedIdentities): Promise<{ nats: string; redis: string }> {
  const [nats, redis] = await Promise.all([
    writePrivate(join(dataDir, 'nats.conf'), natsServerConfig(identities, join(dataDir, 'nats'))),
    writePrivate(join(dataDir, 'redis.conf'), redisServerConfig(identities.redisPassword)),
  ]);
  return { nats, redis };
}

/**
 * Starts nats-server (JetStream), redis-server (AOF) and FerretDB (SQLite) under
 * `dataDir`, waits until each answers its own protocol, and writes endpoints.json.
 * Every NATS client must be one of the two nkey users and Redis requires its password
 * (SPEC 14): made at the first start and kept under `dataDir`, mode 600 (identities.ts).
 * Refuses (`embedded_busy`, naming the pid) when another live process owns `dataDir`.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<Embedded> {
  const dataDir = resolve(options.dataDir);
  const logger = options.logger;
  await mkdir(join(dataDir, 'logs'), { recursive: true });
  const lock = await DataDirLock.acquire(dataDir, logger);
  let builders: Record<ServerName, [number, SpecBuilder]>;
  let identities: EmbeddedIdentities;
  try {
    identities = await readOrCreateIdentities(dataDir);
    await adoptAnonymousStreams(dataDir, logger);
    builders = specBuilders(dataDir, await writeConfigs(dataDir, identities), identities.redisPassword, options.binDir, logger, options.readyTimeoutMs);
  } catch (err) {
    await lock.release();
    throw err;
  }

  const servers = new Map<ServerName, ServerProcess>();
  const pids = () => Object.fromEntries([...servers].map(([name, s]) => [name, s.pid])) as Partial<Record<ServerName, number>>;
  // The 'exit' hook cannot wait; SIGTERM still lets Redis flush its AOF on the way down.
  const onExit = () => servers.forEach((s) => s.signalSync('SIGTERM'));
  process.on('exit', onExit);

  const started = Date.now();
  const names = Object.keys(builders) as ServerName[];
  const results = await Promise.allSettled(
    names.map(async (name) => {
      const [portCount, build] = builders[name];
      const { server, ports } = await startOnFreePorts(build, portCount, logger);
      servers.set(name, server);
      return [name, ports] as const;
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    process.removeListener('exit', onExit);
    await lock.release();
    throw failed.reason;
  }
  const ports = Object.fromEntries(results.map((r) => (r as PromiseFulfilledResult<readonly [ServerName, number[]]>).value));
  const serviceNkey = identities.service.seedFile;
  const producerNkey = identities.producer.seedFile;
  const endpoints: Endpoints = {
    natsUrl: `nats://${HOST}:${ports.nats?.[0]}`,
    natsSecurity: { nkeySeedFile: serviceNkey },
    redisUrl: `redis://:${identities.redisPassword}@${HOST}:${ports.redis?.[0]}`,
    mongoUrl: `mongodb://${HOST}:${ports.ferretdb?.[0]}/`,
  };
  await lock.record(pids());
  const { natsUrl, redisUrl, mongoUrl } = endpoints;
  await writeEndpoints(dataDir, { natsUrl, redisUrl, mongoUrl, serviceNkey, producerNkey, pid: process.pid, startedAt: new Date().toISOString() });
  logger.info(
    {
      natsUrl,
      redisUrl: redactUrl(redisUrl),
      mongoUrl,
      serviceNkey,
      producerNkey,
      natsMonitor: `http://${HOST}:${ports.nats?.[1]}`,
      dataDir,
      pids: pids(),
      ms: Date.now() - started,
    },
    'embedded servers ready',
  );

  const server = (name: ServerName): ServerProcess => {
    const s = servers.get(name);
    if (!s) throw new Error(`no embedded server named ${name}`);
    return s;
  };
  let stopping: Promise<void> | undefined;
  return {
    ...endpoints,
    dataDir,
    serviceNkey,
    producerNkey,
    pids,
    stop() {
      stopping ??= (async () => {
        await removeEndpoints(dataDir);
        await Promise.all([...servers.values()].map((s) => s.stop()));
        process.removeListener('exit', onExit);
        await lock.release();
        logger.info({ dataDir }, 'embedded servers stopped');
      })();
      return stopping;
    },
    async kill(name, signal = 'SIGKILL') {
      await server(name).kill(signal);
    },
    async restart(name, restartOptions = {}) {
      await server(name).restart(restartOptions);
      await lock.record(pids());
    },
  };
}
