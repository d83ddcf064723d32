import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisKey } from '../../../shared/redis/index.js';

/** Who a session belongs to: the key that signed in (re-checked on every request) and its account. */
export interface Session {
  keyId: string;
  accountId: string;
}

/**
 * The account page's sign-in sessions, kept server side so that signing out ends a session
 * everywhere at once. The cookie carries a random 32-byte session id, never the key; the
 * store keeps only the id's SHA-256, so a copy of Redis holds nothing a browser could send.
 */
export interface SessionStore {
  /** A new session; answers the id to put in the cookie. */
  create(session: Session): Promise<string>;
  read(sessionId: string): Promise<Session | null>;
  destroy(sessionId: string): Promise<void>;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const digest = (sessionId: string): string => createHash('sha256').update(sessionId, 'utf8').digest('hex');
const newId = (): string => randomBytes(32).toString('base64url');

function parse(raw: string | null): Session | null {
  if (raw === null) return null;
  const value = JSON.parse(raw) as Partial<Session>;
  return typeof value.keyId === 'string' && typeof value.accountId === 'string' ? { keyId: value.keyId, accountId: value.accountId } : null;
}

/** Sessions in Redis (`tally:<namespace>:session:<sha256 of id>`), shared by every API process; they expire on their own. */
export function redisSessions(redis: Redis, namespace: string, ttlMs: number): SessionStore {
  const key = (sessionId: string) => redisKey(namespace, 'session', digest(sessionId));
  return {
    async create(session) {
      const id = newId();
      await redis.set(key(id), JSON.stringify(session), 'PX', ttlMs);
      return id;
    },
    async read(sessionId) {
      return SESSION_ID.test(sessionId) ? parse(await redis.get(key(sessionId))) : null;
    },
    async destroy(sessionId) {
      if (SESSION_ID.test(sessionId)) await redis.del(key(sessionId));
    },
  };
}

/** Sessions in this process's memory: for an API built without Redis (tests that drive it with inject). */
export function memorySessions(ttlMs: number, clock: () => number): SessionStore {
  const sessions = new Map<string, { session: Session; until: number }>();
  return {
    async create(session) {
      const id = newId();
      sessions.set(digest(id), { session, until: clock() + ttlMs });
      return id;
    },
    async read(sessionId) {
      const entry = sessions.get(digest(sessionId));
      return entry && entry.until > clock() ? entry.session : null;
    },
    async destroy(sessionId) {
      sessions.delete(digest(sessionId));
    },
  };
}
