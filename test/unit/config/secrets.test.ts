import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../shared/config/index.js';

/** The problem loadConfig reports for `env`, as `VARIABLE: message`. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'accepted';
}

describe('placeholder secrets (SPEC 14: refused at start)', () => {
  it.each([
    ['ADMIN_TOKEN', 'change-me-admin-token-0123456789'],
    ['ADMIN_TOKEN', 'CHANGE-ME-please-0123456789'],
    ['ADMIN_TOKEN', 'xxxxxchangemexxxxxxxx'],
    ['WEBHOOK_SECRET', 'change-me-webhook-secret-0123456789'],
    ['REDIS_SENTINEL_PASSWORD', 'change-me-sentinel-password'],
  ])('%s = %j is refused, naming the variable', (variable, value) => {
    expect(refusal({ [variable]: value })).toMatch(new RegExp(`^${variable}: .*placeholder`));
  });

  it.each([
    ['MONGO_URL', 'mongodb://tally:change-me@h1:27017,h2:27017/tally?replicaSet=rs0'],
    ['REDIS_URL', 'redis://:Change-Me@redis:6379'],
    ['NATS_URL', 'nats://app:change-me@h1:4222,nats://app:change-me@h2:4222'],
  ])('%s with a placeholder password is refused', (variable, value) => {
    expect(refusal({ [variable]: value })).toMatch(new RegExp(`^${variable}: password .*placeholder`));
  });

  it('real secrets, and URLs whose host (not password) says change-me, pass', () => {
    const config = loadConfig({
      ADMIN_TOKEN: 'a-real-admin-token-0123456789',
      WEBHOOK_SECRET: 'a-real-webhook-secret-0123',
      REDIS_URL: 'redis://:s3cret@change-me.internal:6379',
      MONGO_URL: 'mongodb://tally:s3cret@db:27017/tally',
    });
    expect(config.adminToken).toBe('a-real-admin-token-0123456789');
    expect(config.redisUrl).toBe('redis://:s3cret@change-me.internal:6379');
  });
});

describe('NATS TLS client certificate', () => {
  it('a certificate without its key, or a key without its certificate, is refused naming the missing one', () => {
    expect(refusal({ NATS_TLS_CERT: '/etc/tally/client.pem' })).toMatch(/^NATS_TLS_KEY: must be set with NATS_TLS_CERT/);
    expect(refusal({ NATS_TLS_KEY: '/etc/tally/client-key.pem' })).toMatch(/^NATS_TLS_CERT: must be set with NATS_TLS_KEY/);
  });

  it('both, or a CA alone, pass', () => {
    expect(loadConfig({ NATS_TLS_CERT: 'c.pem', NATS_TLS_KEY: 'k.pem' }).natsSecurity).toMatchObject({ tlsCertFile: 'c.pem', tlsKeyFile: 'k.pem' });
    expect(loadConfig({ NATS_TLS_CA: 'ca.pem' }).natsSecurity.tlsCaFile).toBe('ca.pem');
  });
});

describe('TRUST_PROXY', () => {
  it('unset trusts no proxy', () => {
    expect(loadConfig({}).trustProxy).toBeUndefined();
  });

  it('takes a hop count or a list of addresses and CIDRs', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1/32' }).trustProxy).toEqual(['127.0.0.1/32']);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1,fd00::/8' }).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8']);
  });

  it.each(['true', '0', '17', '10.0.0.0/33', 'fd00::/129', 'proxy.internal', '10.0.0.0/8,', '1.2.3.4/8/8'])('refuses %j', (value) => {
    expect(refusal({ TRUST_PROXY: value })).toMatch(/^TRUST_PROXY: must be a number of proxy hops/);
  });
});
