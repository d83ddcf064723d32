import type { Redis } from 'ioredis';
import { redisGroup } from '../../shared/redis/index.js';

/**
 * What a sign-in attempt gets before its credentials are looked at: a slot (`ok`), a
 * refusal because the address spent its budget of refused sign-ins this window (`spent`),
 * or `busy`: refusals plus attempts being verified right now fill the budget, so this one
 * waits for a verification to end rather than be counted on faith.
 */
export type Reservation = { state: 'ok' } | { state: 'spent'; ttlMs: number } | { state: 'busy' };

/**
 * Refused sign-ins per address in fixed windows, counted atomically: each attempt reserves
 * a slot before it is verified, and refusals plus reservations never exceed the budget, so
 * however many guesses arrive at once, at most `limit` of them are ever verified and
 * refused in a window (issue 27: the count used to be read before verifying, so 40 parallel
 * guesses all passed a budget of 10).
 */
export interface SignInBudget {
  reserve(ip: string): Promise<Reservation>;
  /** Ends a reservation: a refusal is counted in the window (started by the first one), anything else frees the slot. */
  settle(ip: string, refused: boolean): Promise<void>;
}

/**
 * KEYS: refusals, reservations. ARGV: limit, window ms, reservation lifetime ms. The
 * reservations' key expires on its own if an API process dies holding some.
 */
const RESERVE = `
local refused = tonumber(redis.call('GET', KEYS[1]) or '0')
if refused >= tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if refused + held >= tonumber(ARGV[1]) then return {2, 0} end
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {1, 0}`;

/** KEYS as RESERVE. ARGV: 1 when refused, window ms. Never below zero: the reservations' key may have expired meanwhile. */
const SETTLE = `
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
if ARGV[1] == '1' then
  if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
return 1`;

/** How long a reservation may be held: far above any verification (one store read at worst). */
const RESERVATION_MS = 10_000;

/** Shared by every API process through Redis; both keys of an address in one hash slot (Redis Cluster). */
export function redisSignInBudget(redis: Redis, namespace: string, limit: number, windowMs: number): SignInBudget {
  const keys = (ip: string): [string, string] => {
    const group = redisGroup(namespace, 'rl', 'signin', ip);
    return [`${group}:refused`, `${group}:verifying`];
  };
  return {
    reserve: async (ip) => {
      const [state, ttl] = (await redis.eval(RESERVE, 2, ...keys(ip), String(limit), String(windowMs), String(RESERVATION_MS))) as [number, number];
      if (state === 1) return { state: 'ok' };
      return state === 0 ? { state: 'spent', ttlMs: Math.max(0, ttl) } : { state: 'busy' };
    },
    settle: async (ip, refused) => {
      await redis.eval(SETTLE, 2, ...keys(ip), refused ? '1' : '0', String(windowMs));
    },
  };
}

/** Without Redis (tests driving the app with inject): the same rules in this process; old windows pruned as it grows. */
export function memorySignInBudget(limit: number, windowMs: number, clock: () => number = Date.now): SignInBudget {
  const refusals = new Map<string, { count: number; ends: number }>();
  const held = new Map<string, number>();
  const current = (ip: string, now: number) => {
    const w = refusals.get(ip);
    return w && w.ends > now ? w : null;
  };
  return {
    reserve: async (ip) => {
      const now = clock();
      const w = current(ip, now);
      if (w && w.count >= limit) return { state: 'spent', ttlMs: w.ends - now };
      if ((w?.count ?? 0) + (held.get(ip) ?? 0) >= limit) return { state: 'busy' };
      held.set(ip, (held.get(ip) ?? 0) + 1);
      return { state: 'ok' };
    },
    settle: async (ip, refused) => {
      const left = (held.get(ip) ?? 1) - 1;
      if (left > 0) held.set(ip, left);
      else held.delete(ip);
      if (!refused) return;
      const now = clock();
      if (refusals.size > 10_000) for (const [key, w] of refusals) if (w.ends <= now) refusals.delete(key);
      const w = current(ip, now) ?? { count: 0, ends: now + windowMs };
      w.count++;
      refusals.set(ip, w);
    },
  };
}
