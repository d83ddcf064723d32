import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TallyError } from '../../shared/domain/index.js';
import type { KeyRing } from './keys/index.js';
import type { RateLimits } from './rateLimit.js';

/** Who the API trusts: the admin token and the webhook secret, from the config. */
export interface Credentials {
  adminToken: string | undefined;
  webhookSecret: string | undefined;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Compares hashes, so the comparison takes the same time whatever the lengths and contents. */
export function sameSecret(presented: string, expected: string | undefined): boolean {
  if (expected === undefined) return false;
  return timingSafeEqual(sha256(presented), sha256(expected));
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** Whether the request carries a Bearer credential: a refusal of it counts against the address (RateLimits.signIn). */
export function presentsBearer(request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined;
}

function isAdmin(request: FastifyRequest, credentials: Credentials): boolean {
  const token = bearer(request);
  return token !== null && sameSecret(token, credentials.adminToken);
}

/** Admin routes: `authorization: Bearer <ADMIN_TOKEN>`, else 401 `unauthorized`. */
export function requireAdmin(request: FastifyRequest, credentials: Credentials): void {
  if (!isAdmin(request, credentials)) throw new TallyError('unauthorized', 'this route needs authorization: Bearer <ADMIN_TOKEN>');
}

/** `/v1/admin/*`: requireAdmin under the address's budget of refused sign-ins, so the token cannot be guessed at request rate. */
export function admitAdmin(request: FastifyRequest, reply: FastifyReply, credentials: Credentials, limits: RateLimits): Promise<void> {
  return limits.signIn(request, reply, presentsBearer(request), () => requireAdmin(request, credentials));
}

/** Who is calling an account route: the operator, or the holder of one of the account's keys. */
export type Caller = { kind: 'admin' } | { kind: 'key'; keyId: string; accountId: string };

/**
 * Account routes (`/v1/accounts/:id/*`, SPEC 13 "Who may call what"): the admin token, or
 * a key of that account. A key of another account is 403 `forbidden`; no token, a token
 * that is neither, or a revoked key is 401 `unauthorized`. The admin token is compared
 * first, in constant time; a key costs one Redis round trip (its revocation) plus, on a
 * cache miss, one store read.
 */
export async function authorize(request: FastifyRequest, accountId: string, credentials: Credentials, keys: KeyRing): Promise<Caller> {
  const caller = await authenticate(request, credentials, keys);
  if (caller.kind === 'producer') throw new TallyError('forbidden', 'a producer key may post usage (POST /v1/usage) and read nothing');
  if (caller.kind === 'key' && caller.accountId !== accountId) throw new TallyError('forbidden', 'this key belongs to another account');
  return caller;
}

/**
 * Who presents the Bearer credential: the admin token (compared first, in constant time), an
 * account key or a producer key; 401 `unauthorized` for anything else or nothing.
 */
export async function authenticate(request: FastifyRequest, credentials: Credentials, keys: KeyRing): Promise<Caller | { kind: 'producer'; keyId: string }> {
  const token = bearer(request);
  if (token !== null && sameSecret(token, credentials.adminToken)) return { kind: 'admin' };
  const identity = token === null ? null : await keys.verify(token);
  if (identity === null) throw new TallyError('unauthorized', 'this route needs authorization: Bearer <ADMIN_TOKEN or a key>');
  return 'producer' in identity ? { kind: 'producer', keyId: identity.keyId } : { kind: 'key', ...identity };
}

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** `sha256=<hex HMAC-SHA256 of the raw body>`: what a payment provider sends in x-tally-signature. */
export function signBody(raw: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

/** Checks x-tally-signature against the raw body bytes, in constant time; 401 `unauthorized` otherwise. */
export function requireSignature(raw: Buffer, header: unknown, credentials: Credentials): void {
  const match = typeof header === 'string' ? SIGNATURE.exec(header.trim()) : null;
  const secret = credentials.webhookSecret;
  const valid =
    match?.[1] !== undefined && secret !== undefined && timingSafeEqual(createHmac('sha256', secret).update(raw).digest(), Buffer.from(match[1], 'hex'));
  if (!valid) throw new TallyError('unauthorized', 'x-tally-signature must be sha256=<hex HMAC-SHA256 of the raw body with WEBHOOK_SECRET>');
}
