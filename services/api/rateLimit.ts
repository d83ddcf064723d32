import { setTimeout as sleep } from 'node:timers/promises';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { redisKey } from '../../shared/redis/index.js';
import { TallyError } from '../../shared/domain/index.js';
import { memorySignInBudget, redisSignInBudget, type Reservation, type SignInBudget } from './signInBudget.js';

export interface RateLimitConfig {
  /** Requests per minute per client IP, counted before authentication. */
  ipPerMinute: number;
  /** Requests per minute per account key, counted once the key is verified. */
  keyPerMinute: number;
  /** `POST /v1/usage` requests per minute per credential (producer key, account key, the admin token). */
  ingestPerMinute: number;
  /** Refused sign-ins per minute per client IP (admin token, account key, sign-in forms). */
  authFailuresPerMinute: number;
  /**
   * A refused request's 429 goes out after this long (at most the rest of its window), so
   * a client that sends its next request as soon as the last is answered, a loop of curl
   * say, is held to about one request per pause instead of spinning on refusals: each
   * refusal costs a timer, not a core. 0 answers at once.
   */
  pauseMs: number;
  /** Shared by every API process, so a limit holds across replicas; without it each process counts alone (tests). */
  redis?: Redis | undefined;
  /** This deployment's prefix for the counters in Redis. */
  namespace: string;
}

/** The limits of the account and webhook routes, the account page and every sign-in. */
export interface RateLimits {
  /** Per client IP: an onRequest hook, so failed sign-ins and unsigned webhooks count too (guessing keys is capped here). */
  byIp(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /**
   * byIp for a route whose handler calls `signIn` first: when the request `presented`
   * credentials, the sign-in slot is asked for beside the address's limit, so the two take
   * one Redis round trip instead of two in a row (issue 29), and `signIn` uses it. A slot
   * the limit's refusal (or anything else) left unused is freed when the response is sent.
   */
  byIpSigningIn(presented: (request: FastifyRequest) => boolean): (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Per account key, after authentication: one key cannot use the whole IP budget of a shared address, nor a leaked key more than its own. */
  byKey(request: FastifyRequest, reply: FastifyReply, keyId: string): Promise<void>;
  /** Per credential on `POST /v1/usage` (its own budget: a batch of records is one request). */
  byIngestKey(request: FastifyRequest, reply: FastifyReply, keyId: string): Promise<void>;
  /**
   * Runs `verify` (a credential check that throws `unauthorized`) under the address's budget
   * of refused sign-ins. Once the budget is spent, every sign-in from the address is 429
   * before its credentials are looked at, so a guess past the budget learns nothing, a
   * right one included. A refusal counts when the request `presented` credentials (a
   * browser that simply is not signed in is no guess). Each presented attempt holds a slot
   * of the budget while it is verified (SignInBudget), so parallel guesses cannot all pass
   * a count read before any of them was refused.
   */
  signIn<T>(request: FastifyRequest, reply: FastifyReply, presented: boolean, verify: () => T | Promise<T>): Promise<T>;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

const WINDOW_MS = 60_000;

/**
 * At most this many refusals are held at once per process; past it they are answered at
 * once, so a flood from many addresses cannot pile up held sockets without bound.
 */
export const MAX_HELD_REFUSALS = 1000;

/**
 * @fastify/rate-limit with its Redis store (fixed one-minute windows, counters expire on
 * their own), used through `createRateLimit` rather than route hooks because a request
 * passes two limits and the plugin's route hook runs only the first. A limit exceeded is
 * 429 `rate_limited` with `retry-after`. When Redis does not answer the request is let
 * through (skipOnError): the routes behind need Redis anyway and answer 503 themselves,
 * and an outage should not turn into 429s.
 */
export function installRateLimits(app: FastifyInstance, config: RateLimitConfig): RateLimits {
  void app.register(fastifyRateLimit, {
    global: false,
    skipOnError: true,
    nameSpace: `${redisKey(config.namespace, 'rl')}:`,
    ...(config.redis ? { redis: config.redis } : {}),
  });
  let ip: Limiter | undefined;
  let key: Limiter | undefined;
  let ingest: Limiter | undefined;
  // The decorator exists once the plugin has loaded, i.e. by the first request.
  const ipLimiter = () =>
    (ip ??= app.createRateLimit({ max: config.ipPerMinute, timeWindow: WINDOW_MS, keyGenerator: (req) => `ip:${fastifyRateLimit.normalizeIP(req.ip)}` }));
  const keyLimiter = () =>
    (key ??= app.createRateLimit({ max: config.keyPerMinute, timeWindow: WINDOW_MS, keyGenerator: (req) => `key:${(req as KeyedRequest).rateKeyId ?? ''}` }));
  const ingestLimiter = () =>
    (ingest ??= app.createRateLimit({
      max: config.ingestPerMinute,
      timeWindow: WINDOW_MS,
      keyGenerator: (req) => `ingest:${(req as KeyedRequest).rateKeyId ?? ''}`,
    }));

  const budget = config.redis
    ? redisSignInBudget(config.redis, config.namespace, config.authFailuresPerMinute, WINDOW_MS)
    : memorySignInBudget(config.authFailuresPerMinute, WINDOW_MS);
  const refuse = refusals(config.pauseMs);
  const keyed = (limiter: () => Limiter, scope: string) => async (request: FastifyRequest, reply: FastifyReply, keyId: string) => {
    (request as KeyedRequest).rateKeyId = keyId;
    await refuse(await limiter()(request), reply, scope);
  };

  const byIp = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => refuse(await ipLimiter()(request), reply, 'from this address');
  /** Slots asked for by byIpSigningIn, not yet taken by signIn. */
  const early = new WeakMap<FastifyRequest, Promise<Reservation | null>>();
  // Like skipOnError above: a Redis that does not answer lets the request through.
  const reserveFor = (ip: string) => reserve(budget, ip).catch((): Reservation | null => null);
  app.addHook('onResponse', async (request) => {
    const unused = early.get(request);
    if (unused === undefined) return;
    early.delete(request);
    const ip = fastifyRateLimit.normalizeIP(request.ip);
    void unused.then((r) => (r?.state === 'ok' ? budget.settle(ip, false) : undefined)).catch(() => undefined);
  });

  return {
    byIp,
    byIpSigningIn: (presented) => async (request, reply) => {
      if (presented(request)) early.set(request, reserveFor(fastifyRateLimit.normalizeIP(request.ip)));
      await byIp(request, reply);
    },
    byKey: keyed(keyLimiter, 'with this key'),
    byIngestKey: keyed(ingestLimiter, 'of usage with this key'),
    signIn: async (request, reply, presented, verify) => {
      // No credentials cannot succeed, so it is no guess: nothing to reserve.
      if (!presented) return verify();
      const ip = fastifyRateLimit.normalizeIP(request.ip);
      const asked = early.get(request);
      early.delete(request);
      const reservation = await (asked ?? reserveFor(ip));
      if (reservation !== null && reservation.state !== 'ok') {
        const ttlMs = reservation.state === 'spent' ? reservation.ttlMs : 1000;
        const retry = Math.max(1, Math.ceil(ttlMs / 1000));
        reply.header('retry-after', retry);
        await refuse.pause(ttlMs);
        throw new TallyError('rate_limited', `more than ${config.authFailuresPerMinute} refused sign-ins a minute from this address; retry in ${retry} s`);
      }
      let refused = false;
      try {
        return await verify();
      } catch (err) {
        refused = err instanceof TallyError && err.code === 'unauthorized';
        throw err;
      } finally {
        if (reservation !== null) {
          // A refusal is counted before it is answered. A success only frees its slot, so it
          // answers without waiting for that round trip (a read under load waited for up to
          // four Redis round trips in a row, issue 29): until the slot is freed it still counts
          // as held, which can only make a concurrent attempt wait, never let one more guess in.
          const settled = budget.settle(ip, refused).catch(() => undefined);
          if (refused) await settled;
        }
      }
    },
  };
}

/** How long an attempt waits for a slot while others from its address are being verified; then it is refused. */
const BUSY_WAIT_MS = 5000;

/** A slot, waiting (briefly, with backoff) while the budget is full of attempts in verification; `busy` once BUSY_WAIT_MS passed. */
async function reserve(budget: SignInBudget, ip: string): Promise<Reservation> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const reservation = await budget.reserve(ip);
    if (reservation.state !== 'busy' || Date.now() + delay > deadline) return reservation;
    await sleep(delay);
  }
}

type KeyedRequest = FastifyRequest & { rateKeyId?: string };

type Refuse = ((result: Awaited<ReturnType<Limiter>>, reply: FastifyReply, scope: string) => Promise<void>) & {
  /** Holds a refusal for the pause, at most `restMs` (the rest of its window), unless MAX_HELD_REFUSALS are held already. */
  pause(restMs: number): Promise<void>;
};

/** Sets the limit's headers; past the limit, holds the request for the pause and throws 429 `rate_limited`. */
function refusals(pauseMs: number): Refuse {
  let held = 0;
  const pause = async (restMs: number): Promise<void> => {
    const ms = Math.min(pauseMs, restMs);
    if (ms <= 0 || held >= MAX_HELD_REFUSALS) return;
    held++;
    try {
      await sleep(ms);
    } finally {
      held--;
    }
  };
  const refuse = async (result: Awaited<ReturnType<Limiter>>, reply: FastifyReply, scope: string): Promise<void> => {
    if (result.isAllowed) return;
    reply.header('x-ratelimit-limit', result.max).header('x-ratelimit-remaining', result.remaining).header('x-ratelimit-reset', result.ttlInSeconds);
    if (!result.isExceeded) return;
    reply.header('retry-after', result.ttlInSeconds);
    await pause(result.ttlInSeconds * 1000);
    throw new TallyError('rate_limited', `more than ${result.max} requests a minute ${scope}; retry in ${result.ttlInSeconds} s`);
  };
  return Object.assign(refuse, { pause });
}
