import { createHmac, timingSafeEqual } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { presentsBearer, requireAdmin, type Credentials } from '../auth.js';

/** The operator's browser session: HttpOnly, SameSite=Strict, never the token itself. */
export const SESSION_COOKIE = 'tally_admin';

const mac = (token: string, expires: number): string => createHmac('sha256', token).update(`tally-admin-session:${expires}`).digest('base64url');

/**
 * `<expires ms>.<HMAC-SHA256(ADMIN_TOKEN, expires)>`: stateless, so every API replica
 * accepts it without a session store, it ends by itself, and rotating ADMIN_TOKEN ends
 * every session at once. It reveals nothing about the token (HMAC is one-way). A session
 * lasts `ttlMs` (OPERATOR_SESSION_HOURS).
 */
export function sessionValue(token: string, now: number, ttlMs: number): string {
  const expires = now + ttlMs;
  return `${expires}.${mac(token, expires)}`;
}

export function validSession(value: string | undefined, credentials: Credentials, now: number, ttlMs: number): boolean {
  const token = credentials.adminToken;
  if (!value || token === undefined) return false;
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match?.[1] || !match[2]) return false;
  const expires = Number(match[1]);
  // A cookie that claims to last longer than we ever issue was not made by us.
  if (expires <= now || expires > now + ttlMs) return false;
  return timingSafeEqual(Buffer.from(mac(token, expires)), Buffer.from(match[2]));
}

function sessionOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  return typeof header === 'string' ? fastifyCookie.parse(header)[SESSION_COOKIE] : undefined;
}

/**
 * The operator surfaces (dashboard, its JSON, bull-board): the session cookie, or
 * `authorization: Bearer <ADMIN_TOKEN>` for scripts, and which of them. Throws 401 `unauthorized` otherwise.
 */
export function requireOperator(request: FastifyRequest, credentials: Credentials, now: number, ttlMs: number): OperatorCredential {
  if (validSession(sessionOf(request), credentials, now, ttlMs)) return 'operator_session';
  requireAdmin(request, credentials);
  return 'admin_token';
}

/** How an operator request authenticated: what an adjustment records as who made it. */
export type OperatorCredential = 'operator_session' | 'admin_token';

/** A session cookie or a Bearer token: credentials whose refusal counts as a guess (RateLimits.signIn). */
export function presentsOperatorCredentials(request: FastifyRequest): boolean {
  return sessionOf(request) !== undefined || presentsBearer(request);
}

/** Browsers navigating ask for HTML; they get a page with a sign-in link instead of JSON. */
export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** Secure only over HTTPS (directly or behind a proxy that says so), or the cookie would never come back on plain local HTTP. */
function isHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

export function setSession(reply: FastifyReply, request: FastifyRequest, token: string, now: number, ttlMs: number): void {
  reply.header(
    'set-cookie',
    fastifyCookie.serialize(SESSION_COOKIE, sessionValue(token, now, ttlMs), {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      maxAge: ttlMs / 1000,
      secure: isHttps(request),
    }),
  );
}

export function clearSession(reply: FastifyReply, request: FastifyRequest): void {
  reply.header(
    'set-cookie',
    fastifyCookie.serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 0, secure: isHttps(request) }),
  );
}

/** Where to go after signing in: a path on this site only, never another origin (`//evil`, `/\evil`). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) && next.length <= 512 ? next : '/';
}
