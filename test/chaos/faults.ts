/**
 * The faults of the chaos run and when they strike: every kind once, in a seeded order,
 * then seeded extras, each at a seeded random moment of the load phase (one at a time; a
 * fault still under way delays the next). Each is logged with its timestamp.
 */
import { mulberry32 } from '../../services/cli/load/generate.js';
import { redisConnection } from '../../shared/queue/index.js';
import type { Embedded } from '../../shared/runtime/index.js';
import type { Cluster, Slot } from './cluster.js';

export const FAULT_KINDS = [
  'bridge_kill',
  'worker_kill',
  'api_kill',
  'scheduler_kill',
  'worker_pause',
  'redis_flushall',
  'redis_restart_empty',
  'nats_restart',
  'ferretdb_kill',
  'ferretdb_pause',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRecord {
  kind: FaultKind;
  /** ISO time it began. */
  at: string;
  /** Seconds from the start of the load phase. */
  t: number;
  detail: string;
  seconds: number;
}

export interface FaultContext {
  cluster: Cluster;
  servers: Embedded;
  redisUrl: string;
  /** WORKER_LEASE_TTL_MS: a paused worker stays stopped well past it. */
  leaseTtlMs: number;
  rand: () => number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Injects one fault and repairs what it broke (restart, SIGCONT); resolves when the cluster is whole again. */
export async function inject(kind: FaultKind, c: FaultContext): Promise<string> {
  const pick = (slots: Slot[]): Slot => slots[Math.floor(c.rand() * slots.length)]!;
  const { servers } = c;
  switch (kind) {
    case 'bridge_kill':
    case 'worker_kill': {
      const slot = pick(kind === 'bridge_kill' ? ['bridge-0', 'bridge-1'] : ['worker-0', 'worker-1']);
      const pid = c.cluster.pid(slot);
      await c.cluster.killAndRestart(slot);
      return `SIGKILL ${slot} (pid ${pid}), started again`;
    }
    case 'api_kill':
    case 'scheduler_kill': {
      const slot: Slot = kind === 'api_kill' ? 'api' : 'scheduler';
      const pid = c.cluster.pid(slot);
      await c.cluster.killAndRestart(slot);
      return `SIGKILL ${slot} (pid ${pid}), started again`;
    }
    case 'worker_pause': {
      const slot = pick(['worker-0', 'worker-1']);
      const ms = Math.round(c.leaseTtlMs * (2 + c.rand()));
      c.cluster.signal(slot, 'SIGSTOP');
      await sleep(ms);
      c.cluster.signal(slot, 'SIGCONT');
      return `SIGSTOP ${slot} (pid ${c.cluster.pid(slot)}) for ${ms} ms (lease ${c.leaseTtlMs} ms), then SIGCONT`;
    }
    case 'redis_flushall': {
      const redis = redisConnection(c.redisUrl);
      try {
        await redis.flushall();
      } finally {
        redis.disconnect();
      }
      return 'FLUSHALL';
    }
    case 'redis_restart_empty':
      await servers.restart('redis', { wipe: true });
      return 'redis-server stopped, data removed, started on the same port';
    case 'nats_restart':
      await servers.restart('nats');
      return 'nats-server stopped and started on the same port with the same JetStream store';
    case 'ferretdb_kill':
      await servers.kill('ferretdb', 'SIGKILL');
      await servers.restart('ferretdb');
      return 'FerretDB SIGKILLed, started on the same port and data';
    case 'ferretdb_pause': {
      const ms = 2000 + Math.round(c.rand() * 4000);
      await servers.kill('ferretdb', 'SIGSTOP');
      await sleep(ms);
      await servers.kill('ferretdb', 'SIGCONT');
      return `FerretDB SIGSTOPped for ${ms} ms, then SIGCONT`;
    }
  }
}

/** `count` faults (at least one of each kind) at seeded moments within [0.1, 0.85] of `seconds`, in time order. */
export function schedule(count: number, seconds: number, seed: number): { kind: FaultKind; t: number }[] {
  const rand = mulberry32(seed ^ 0x0fa17);
  const kinds: FaultKind[] = [...FAULT_KINDS];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  while (kinds.length < count) kinds.push(FAULT_KINDS[Math.floor(rand() * FAULT_KINDS.length)]!);
  const times = kinds.map(() => seconds * (0.1 + 0.75 * rand())).sort((a, b) => a - b);
  return kinds.map((kind, i) => ({ kind, t: times[i]! }));
}

/** Runs the schedule from `started` (ms); stops early when `stop` says so. */
export async function runFaults(
  plan: { kind: FaultKind; t: number }[],
  c: FaultContext,
  started: number,
  log: (line: string) => void,
  stop: () => boolean,
): Promise<FaultRecord[]> {
  const done: FaultRecord[] = [];
  for (const { kind, t } of plan) {
    while (Date.now() < started + t * 1000 && !stop()) await sleep(100);
    if (stop()) break;
    const at = Date.now();
    log(`fault ${done.length + 1}/${plan.length}: ${kind} at ${new Date(at).toISOString()} (t+${Math.round((at - started) / 100) / 10} s)`);
    const detail = await inject(kind, c).catch((err: Error) => `FAILED: ${err.message.slice(0, 2000)}`);
    const seconds = Math.round((Date.now() - at) / 100) / 10;
    done.push({ kind, at: new Date(at).toISOString(), t: Math.round((at - started) / 100) / 10, detail, seconds });
    log(`fault ${kind} done in ${seconds} s: ${detail}`);
  }
  return done;
}
