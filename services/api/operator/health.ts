import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import { BRIDGE_CONSUMER, DLQ_STREAM, EVENTS_STREAM, USAGE_STREAM, type Bus } from '../../../shared/bus/index.js';
import { TallyError } from '../../../shared/domain/index.js';

/** Each dependency's state, as /readyz shows it to anyone: `ok` or `down`, never an error's text (host names, URLs). */
export type ReadyChecks = Record<string, 'ok' | 'down'>;

/** 503 `unavailable` naming the checks that failed; why each failed is for the log only. */
export class NotReadyError extends TallyError {
  readonly down: string[];
  constructor(
    readonly checks: ReadyChecks,
    readonly reasons: Record<string, string> = {},
  ) {
    const down = Object.keys(checks).filter((k) => checks[k] !== 'ok');
    super('unavailable', `not ready: ${down.join(', ')}`);
    this.down = down;
  }
}

/** A check that does not answer within this long fails; a hung server must not hang the probe. */
const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 200);

/**
 * /readyz: NATS, Redis and MongoDB answer, and the streams and the bridges' consumer exist
 * (a server restarted without its data would otherwise look healthy while nothing flows).
 * Resolves with every check `ok`; throws NotReadyError naming the failed ones otherwise.
 */
export async function readinessChecks(deps: { db: Db; redis: Redis; bus: Bus }): Promise<ReadyChecks> {
  const checks: [string, () => Promise<unknown>][] = [
    ['mongodb', () => deps.db.command({ ping: 1 })],
    ['redis', () => deps.redis.ping()],
    ['nats', () => deps.bus.nc.flush()],
    ...[USAGE_STREAM, DLQ_STREAM, EVENTS_STREAM].map((s): [string, () => Promise<unknown>] => [`stream ${s}`, () => deps.bus.jsm.streams.info(s)]),
    [`consumer ${BRIDGE_CONSUMER}`, () => deps.bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER)],
  ];
  const outcomes = await Promise.all(checks.map(([, run]) => withTimeout(run(), CHECK_TIMEOUT_MS).then(() => null, reason)));
  const result: ReadyChecks = Object.fromEntries(checks.map(([name], i) => [name, outcomes[i] === null ? 'ok' : 'down']));
  const reasons = Object.fromEntries(checks.flatMap(([name], i) => (outcomes[i] ? [[name, outcomes[i]]] : [])));
  if (Object.keys(reasons).length > 0) throw new NotReadyError(result, reasons);
  return result;
}
