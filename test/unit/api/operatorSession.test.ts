import { describe, expect, it } from 'vitest';
import { safeNext, sessionValue, validSession } from '../../../services/api/operator/session.js';

const credentials = { adminToken: 'unit-admin-token-0123456789', webhookSecret: undefined };
const now = 1_800_000_000_000;
/** A session's lifetime (OPERATOR_SESSION_HOURS, here 12). */
const SESSION_TTL_MS = 12 * 3_600_000;

describe('operator session cookie', () => {
  it('is valid for its lifetime only, and only under the token that made it', () => {
    const value = sessionValue(credentials.adminToken, now, SESSION_TTL_MS);
    expect(value).not.toContain(credentials.adminToken);
    expect(validSession(value, credentials, now, SESSION_TTL_MS)).toBe(true);
    expect(validSession(value, credentials, now + SESSION_TTL_MS - 1, SESSION_TTL_MS)).toBe(true);
    expect(validSession(value, credentials, now + SESSION_TTL_MS, SESSION_TTL_MS)).toBe(false);
    // Rotating ADMIN_TOKEN ends every session; no token configured, no session.
    expect(validSession(value, { ...credentials, adminToken: 'another-admin-token-0123456789' }, now, SESSION_TTL_MS)).toBe(false);
    expect(validSession(value, { ...credentials, adminToken: undefined }, now, SESSION_TTL_MS)).toBe(false);
  });

  it('refuses altered, extended and malformed values', () => {
    const [expires, mac] = sessionValue(credentials.adminToken, now, SESSION_TTL_MS).split('.') as [string, string];
    expect(validSession(`${Number(expires) + 1}.${mac}`, credentials, now, SESSION_TTL_MS)).toBe(false);
    expect(validSession(`${expires}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`, credentials, now, SESSION_TTL_MS)).toBe(false);
    // Signed with the real token but claiming a lifetime we never issue.
    const far = sessionValue(credentials.adminToken, now + SESSION_TTL_MS, SESSION_TTL_MS);
    expect(validSession(far, credentials, now, SESSION_TTL_MS)).toBe(false);
    for (const bad of ['', 'x', `${expires}`, `${expires}.`, `-1.${mac}`, `${expires}.${mac}.x`])
      expect(validSession(bad, credentials, now, SESSION_TTL_MS), bad).toBe(false);
  });

  it('redirects after sign-in to local paths only', () => {
    expect(safeNext('/admin/queues')).toBe('/admin/queues');
    expect(safeNext('/?a=1')).toBe('/?a=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'evil', '', undefined, 42, '/a b'])
      expect(safeNext(bad), String(bad)).toBe('/');
  });
});
