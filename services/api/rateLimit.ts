import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { TallyError } from '../../shared/domain/index.js';

export interface RateLimitConfig {
  /** Requests per minute per client IP, counted before authentication. */
  ipPerMinute: number;
  /** Requests per minute per account key, counted once the key is verified. */
  keyPerMinute: number;
  /** Shared by every API process, so a limit holds across replicas; without it each process counts alone (tests). */
  redis?: Redis | undefined;
  /** This deployment's prefix for the counters in Redis. */
  namespace: string;
}

/** The two limits of the account and webhook routes and the account page. */
export interface RateLimits {
  /** Per client IP: an onRequest hook, so failed sign-ins and unsigned webhooks count too (guessing keys is capped here). */
  byIp(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Per account key, after authentication: one key cannot use the whole IP budget of a shared address, nor a leaked key more than its own. */
  byKey(request: FastifyRequest, reply: FastifyReply, keyId: string): Promise<void>;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

const WINDOW_MS = 60_000;

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
    nameSpace: `tally:${config.namespace}:rl:`,
    ...(config.redis ? { redis: config.redis } : {}),
  });
  let ip: Limiter | undefined;
  let key: Limiter | undefined;
  // The decorator exists once the plugin has loaded, i.e. by the first request.
  const ipLimiter = () =>
    (ip ??= app.createRateLimit({ max: config.ipPerMinute, timeWindow: WINDOW_MS, keyGenerator: (req) => `ip:${fastifyRateLimit.normalizeIP(req.ip)}` }));
  const keyLimiter = () =>
    (key ??= app.createRateLimit({ max: config.keyPerMinute, timeWindow: WINDOW_MS, keyGenerator: (req) => `key:${(req as KeyedRequest).rateKeyId ?? ''}` }));

  return {
    byIp: async (request, reply) => enforce(await ipLimiter()(request), reply, 'from this address'),
    byKey: async (request, reply, keyId) => {
      (request as KeyedRequest).rateKeyId = keyId;
      enforce(await keyLimiter()(request), reply, 'with this key');
    },
  };
}

type KeyedRequest = FastifyRequest & { rateKeyId?: string };

function enforce(result: Awaited<ReturnType<Limiter>>, reply: FastifyReply, scope: string): void {
  if (result.isAllowed) return;
  reply.header('x-ratelimit-limit', result.max).header('x-ratelimit-remaining', result.remaining).header('x-ratelimit-reset', result.ttlInSeconds);
  if (!result.isExceeded) return;
  reply.header('retry-after', result.ttlInSeconds);
  throw new TallyError('rate_limited', `more than ${result.max} requests a minute ${scope}; retry in ${result.ttlInSeconds} s`);
}
