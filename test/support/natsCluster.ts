/**
 * A JetStream cluster of real nats-server processes on loopback (issue 18): each node its
 * own client, cluster and monitor port and its own store, routes to every node, one
 * cluster name. Resolves once every node's monitor reports a JetStream meta leader; a node
 * killed by a test starts again on the same ports and store, and counts as back once its
 * /healthz says JetStream is current.
 *
 * Every node runs the configuration compose.cluster.yaml ships (deploy/compose/nats.conf:
 * the accounts TALLY and PRODUCERS, SPEC 14, and authenticated routes), its passwords
 * generated per cluster and handed over as that file's environment variables; flags put
 * the listeners on free loopback ports. So a run on this cluster also tests the shipped
 * file: the services connect as `tally`, producers as `producer`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JetStreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { freePort } from '../../shared/runtime/index.js';
import type { Probe } from '../../shared/runtime/probes.js';
import { ServerProcess } from '../../shared/runtime/serverProcess.js';

const HOST = '127.0.0.1';
const ROOT = join(import.meta.dirname, '..', '..');
/** The shipped configuration; it names three routes (NATS_ROUTE_1..3). */
export const NATS_CONFIG = join(ROOT, 'deploy/compose/nats.conf');
const SIZE = 3;

export interface NatsIdentity {
  user: string;
  pass: string;
}

export interface NatsNode {
  name: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
  server: ServerProcess;
}

export interface NatsCluster {
  /** Every node's client URL, comma-separated, without credentials (for reports). */
  url: string;
  /** NATS_URL for the services: `url` with the services identity (account TALLY). */
  serviceUrl: string;
  /** The same servers with the producer identity (account PRODUCERS). */
  producerUrl: string;
  services: NatsIdentity;
  producer: NatsIdentity;
  nodes: NatsNode[];
  dataDir: string;
  /** SIGKILL node `i` (`signal` to send something else); resolves once it is gone. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts node `i` again on its ports and store; resolves once its JetStream is healthy. */
  restart(i: number): Promise<void>;
  /** Index of the node leading `stream`'s Raft group. */
  streamLeader(jsm: JetStreamManager, stream: string): Promise<number>;
  /** Stops every node and removes the folder. */
  close(): Promise<void>;
}

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

async function metaLeader(monitorPort: number): Promise<string | undefined> {
  const res = await fetch(`http://${HOST}:${monitorPort}/jsz`, { signal: AbortSignal.timeout(2000) });
  return ((await res.json()) as Jsz).meta_cluster?.leader || undefined;
}

/** Waits until every running node names the same meta leader. */
export async function waitMetaLeader(nodes: readonly NatsNode[], timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leaders = await Promise.all(nodes.filter((n) => n.server.running).map((n) => metaLeader(n.monitorPort).catch(() => undefined)));
    if (leaders.length > 0 && leaders.every((l) => l !== undefined && l === leaders[0])) return leaders[0]!;
    if (Date.now() > deadline) throw new Error(`no JetStream meta leader after ${timeoutMs} ms: ${JSON.stringify(leaders)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** /healthz answers 503 until the node has a meta leader and its streams are current (no client login needed). */
function healthz(monitorPort: number): Probe {
  return async () => {
    const res = await fetch(`http://${HOST}:${monitorPort}/healthz`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`NATS /healthz: ${res.status} ${await res.text()}`);
  };
}

/** `servers` (comma-separated URLs) with `who`'s user and password in each entry. */
export function withIdentity(servers: string, who: NatsIdentity): string {
  return servers
    .split(',')
    .map((s) => s.replace('nats://', `nats://${who.user}:${who.pass}@`))
    .join(',');
}

export async function startNatsCluster(size = SIZE, options: { binary?: string; logLevel?: pino.Level } = {}): Promise<NatsCluster> {
  if (size !== SIZE) throw new Error(`${NATS_CONFIG} names ${SIZE} routes, not ${size}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'tally-nats-cluster-'));
  await mkdir(join(dataDir, 'logs'));
  const logger = pino({ level: options.logLevel ?? 'warn' });
  const binary = options.binary ?? join(ROOT, '.tools/bin/nats-server');
  const secret = (): string => randomBytes(18).toString('hex');
  const services = { user: 'tally', pass: secret() };
  const producer = { user: 'producer', pass: secret() };
  const routePass = secret();
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({ port: await freePort(HOST), clusterPort: await freePort(HOST), monitorPort: await freePort(HOST) })),
  );
  const routeUrl = (clusterPort: number): string => `nats://route:${routePass}@${HOST}:${clusterPort}`;
  const env: Record<string, string> = {
    TALLY_NATS_PASSWORD: services.pass,
    PRODUCER_NATS_PASSWORD: producer.pass,
    NATS_ROUTE_PASSWORD: routePass,
    ...Object.fromEntries(ports.map((p, i) => [`NATS_ROUTE_${i + 1}`, routeUrl(p.clusterPort)])),
  };
  const nodes: NatsNode[] = ports.map((p, i) => {
    const name = `n${i}`;
    const store = join(dataDir, name);
    const server = new ServerProcess(
      {
        name: 'nats',
        binary,
        dataPath: store,
        logFile: join(dataDir, 'logs', `${name}.log`),
        readyTimeoutMs: 60_000,
        env,
        // The flags override the file's listeners and store; `-cluster` with the route
        // credentials (a listener without them would drop the file's route authorization).
        args: [
          '-c',
          NATS_CONFIG,
          '-sd',
          store,
          '-server_name',
          name,
          '-a',
          HOST,
          '-p',
          String(p.port),
          '-m',
          String(p.monitorPort),
          '-cluster',
          routeUrl(p.clusterPort),
        ],
        probe: healthz(p.monitorPort),
      },
      logger,
    );
    return { name, ...p, server };
  });
  const onExit = (): void => nodes.forEach((n) => n.server.signalSync('SIGKILL'));
  process.on('exit', onExit);
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.server.stop()));
    process.removeListener('exit', onExit);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    // All at once: a node's JetStream needs a quorum of its peers before /healthz passes.
    await Promise.all(nodes.map((n) => n.server.start()));
    await waitMetaLeader(nodes);
  } catch (err) {
    await close();
    throw err;
  }
  const url = nodes.map((n) => `nats://${HOST}:${n.port}`).join(',');
  return {
    url,
    serviceUrl: withIdentity(url, services),
    producerUrl: withIdentity(url, producer),
    services,
    producer,
    nodes,
    dataDir,
    kill: (i, signal = 'SIGKILL') => nodes[i]!.server.kill(signal),
    async restart(i) {
      await nodes[i]!.server.start();
      await waitMetaLeader(nodes);
    },
    async streamLeader(jsm, stream) {
      const leader = (await jsm.streams.info(stream)).cluster?.leader;
      const i = nodes.findIndex((n) => n.name === leader);
      if (i < 0) throw new Error(`stream ${stream} has no leader among ${nodes.map((n) => n.name).join(', ')} (${leader ?? 'none'})`);
      return i;
    },
    close,
  };
}
