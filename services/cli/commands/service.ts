import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { Config } from '../../../shared/config/index.js';
import type { Endpoints } from '../../../shared/runtime/index.js';
import type { RunningApi } from '../../api/index.js';
import { cliContext, endpointsFor } from '../context.js';

/** A long-running service as its command starts it. */
export interface ServiceSpec<S extends { stop(): Promise<void> }> {
  /** The pino logger's name: `tally-worker`, `tally-api`... */
  name: string;
  start(config: Config, endpoints: Endpoints, logger: Logger): Promise<S>;
  /** `METRICS_PORT` set: this process's counters at /metrics, and /healthz and /readyz, there too (the API serves its own). */
  metrics?: boolean;
  /** Runs once the service runs (a line on stdout, say). */
  started?(service: S): void;
}

/**
 * The one way `tally worker`, `bridge`, `api` and `scheduler` run: SIGTERM and SIGINT are
 * handled before anything starts (a signal while starting is a clean exit too), the
 * service's `stop` (its drain) runs on the first signal, a second one exits at once.
 */
export async function runService<S extends { stop(): Promise<void> }>(spec: ServiceSpec<S>): Promise<void> {
  const { config, logger } = await cliContext(spec.name);
  if (!sizeHeap(config.serviceHeapMb)) logger.warn({ node: process.version }, 'SERVICE_HEAP_MB not applied: this Node has no process.execve (22.15 or later)');
  const { Shutdown, serveMetrics } = await import('../../../shared/runtime/index.js');
  const shutdown = new Shutdown({ logger }).listen();
  const service = await spec.start(config, await endpointsFor(config), logger);
  shutdown.add(spec.name.replace(/^tally-/, ''), () => service.stop());
  if (spec.metrics && config.metricsPort !== undefined) {
    const server = await serveMetrics(config.metricsPort, config.httpHost);
    shutdown.add('metrics', () => server.close());
    logger.info({ url: server.url }, 'metrics listening');
  }
  spec.started?.(service);
}

/**
 * Caps V8's old space at `heapMb` MiB (SERVICE_HEAP_MB), and its young generation: V8
 * sizes its limits from the machine's memory and, below them, lets the heap grow ~3x past
 * what is live before a full collection, so a worker whose live heap is 60-160 MB reached
 * 536 MB of RSS (issue #30; docs/decisions/012-throughput-levers.md). The limits are fixed
 * when the process starts, so the process replaces itself (same pid, same arguments,
 * nothing written yet) with the flags added. False when the Node has no
 * `process.execve`; true when capped, asked not to, or node was given its own limit.
 */
function sizeHeap(heapMb: number): boolean {
  const given = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)].some((a) => a.startsWith('--max-old-space-size'));
  if (heapMb === 0 || given) return true;
  const { execve } = process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never };
  if (!execve) return false;
  // The young generation too: Node 24 lets its semi-spaces reach 64 MiB each (192 MiB beside
  // the old space). An eighth of the old space each (32 MiB at 256) cost about as much GC
  // time as V8's sizes; a sixteenth made 4x the collections (decision 012).
  const semiMb = Math.max(1, Math.min(64, Math.floor(heapMb / 8)));
  const flags = [`--max-old-space-size=${heapMb}`, `--max-semi-space-size=${semiMb}`];
  return execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
}

/** The services that run alone, for scaling out; each action loads only its own (see services/cli/main.ts). */
const SERVICES: readonly { command: string; description: string; spec(): Promise<ServiceSpec<{ stop(): Promise<void> }>> }[] = [
  {
    command: 'worker',
    description: 'run a shard worker (BullMQ -> MongoDB) against the configured servers',
    spec: async () => ({ name: 'tally-worker', start: (await import('../../worker/main.js')).startWorker, metrics: true }),
  },
  {
    command: 'bridge',
    description: 'run a bridge (NATS JetStream -> BullMQ) against the configured servers',
    spec: async () => ({ name: 'tally-bridge', start: (await import('../../bridge/main.js')).startBridge, metrics: true }),
  },
  {
    command: 'api',
    description: 'run the HTTP API (plans, VMs, payment webhook, admin tick) on HTTP_PORT',
    spec: async (): Promise<ServiceSpec<RunningApi>> => ({
      name: 'tally-api',
      start: (await import('../../api/index.js')).startApi,
      started: (api: { url: string }) => process.stdout.write(`tally api listening on ${api.url}\n`),
    }),
  },
  {
    command: 'scheduler',
    description: 'run the job scheduler: the ladder tick every LADDER_TICK_INTERVAL_MS',
    spec: async () => ({ name: 'tally-scheduler', start: (await import('../../scheduler/index.js')).startScheduler, metrics: true }),
  },
];

/** `tally worker`, `tally bridge`, `tally api`, `tally scheduler`: one service each. */
export function registerServiceCommands(program: Command): void {
  for (const { command, description, spec } of SERVICES) {
    program
      .command(command)
      .description(description)
      .action(async () => runService(await spec()));
  }
}
