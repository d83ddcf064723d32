/**
 * A JetStream cluster of real nats-server processes on loopback (issue 18): each node its
 * own client, cluster and monitor port and its own store, routes to every node, one
 * cluster name. Resolves once every node's monitor reports a JetStream meta leader; a node
 * killed by a test starts again on the same ports and store, and counts as back once its
 * /healthz says JetStream is current.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JetStreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { freePort } from '../../shared/runtime/index.js';
import { natsProbe } from '../../shared/runtime/probes.js';
import { ServerProcess } from '../../shared/runtime/serverProcess.js';

const HOST = '127.0.0.1';
const ROOT = join(import.meta.dirname, '..', '..');

export interface NatsNode {
  name: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
  server: ServerProcess;
}

export interface NatsCluster {
  /** Every node's client URL, comma-separated (the NATS_URL form of a cluster). */
  url: string;
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

export async function startNatsCluster(size = 3, options: { binary?: string; logLevel?: pino.Level } = {}): Promise<NatsCluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tally-nats-cluster-'));
  await mkdir(join(dataDir, 'logs'));
  const logger = pino({ level: options.logLevel ?? 'warn' });
  const binary = options.binary ?? join(ROOT, '.tools/bin/nats-server');
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ port: await freePort(HOST), clusterPort: await freePort(HOST), monitorPort: await freePort(HOST) })));
  const routes = ports.map((p) => `nats://${HOST}:${p.clusterPort}`).join(',');
  const nodes: NatsNode[] = ports.map((p, i) => {
    const name = `n${i}`;
    const store = join(dataDir, name);
    const server = new ServerProcess({
      name: 'nats', binary, dataPath: store, logFile: join(dataDir, 'logs', `${name}.log`), readyTimeoutMs: 60_000,
      args: ['-js', '-sd', store, '-server_name', name, '-cluster_name', 'tally', '-a', HOST, '-p', String(p.port), '-m', String(p.monitorPort),
        '-cluster', `nats://${HOST}:${p.clusterPort}`, '-routes', routes],
      // /healthz answers 503 until the node has a meta leader and its streams are current.
      probe: natsProbe(p.port, p.monitorPort, HOST),
    }, logger);
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
  return {
    url: nodes.map((n) => `nats://${HOST}:${n.port}`).join(','),
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
