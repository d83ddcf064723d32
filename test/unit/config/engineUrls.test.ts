import { describe, expect, it } from 'vitest';
import { ConfigError, EngineUrlError, loadConfig, namesReplicaSet, parseNatsServers, parseRedisUrl } from '../../../shared/config/index.js';

describe('parseNatsServers', () => {
  it('takes one URL or a comma-separated list of a cluster', () => {
    expect(parseNatsServers('nats://127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'], tls: false });
    expect(parseNatsServers('nats://h1:4222, nats://h2:4222,nats://h3:4222').servers).toEqual(['nats://h1:4222', 'nats://h2:4222', 'nats://h3:4222']);
  });

  it('moves user:password and token out of the URLs (the Node client does not read them there)', () => {
    const withUser = parseNatsServers('nats://app:s%40cret@h1:4222,nats://app:s%40cret@h2:4222');
    expect(withUser).toMatchObject({ user: 'app', pass: 's@cret', servers: ['nats://h1:4222', 'nats://h2:4222'] });
    expect(withUser.token).toBeUndefined();
    expect(parseNatsServers('nats://t0ken@h1:4222,nats://h2:4222')).toMatchObject({ token: 't0ken', servers: ['nats://h1:4222', 'nats://h2:4222'] });
  });

  it('a tls:// server means TLS', () => {
    expect(parseNatsServers('tls://h1:4222,tls://h2:4222').tls).toBe(true);
    expect(parseNatsServers('nats://h1:4222').tls).toBe(false);
  });

  it.each([
    ['', /empty entry/],
    ['nats://h1:4222,', /empty entry/],
    ['nats://h1:4222,,nats://h2:4222', /empty entry/],
    ['h1:4222', /every server must start with nats:\/\//],
    ['nats://h1:4222,http://h2:4222', /every server must start with/],
    ['nats://h1:4222,not a url', /entry 2 is not a URL/],
    ['nats://a:1@h1:4222,nats://b:2@h2:4222', /different credentials/],
  ])('refuses %j', (value, message) => {
    expect(() => parseNatsServers(value)).toThrow(EngineUrlError);
    expect(() => parseNatsServers(value)).toThrow(message);
  });
});

describe('parseRedisUrl', () => {
  it('leaves one server to ioredis', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379/2' });
    expect(parseRedisUrl('rediss://:pw@cache.example:6380')).toEqual({ kind: 'single', url: 'rediss://:pw@cache.example:6380' });
  });

  it('reads the Sentinel form: sentinels, master name, database, credentials of the master', () => {
    expect(parseRedisUrl('redis+sentinel://h1:26379,h2:26380,10.0.0.3/mymaster')).toEqual({
      kind: 'sentinel',
      tls: false,
      masterName: 'mymaster',
      db: 0,
      sentinels: [
        { host: 'h1', port: 26379 },
        { host: 'h2', port: 26380 },
        { host: '10.0.0.3', port: 26379 },
      ],
    });
    expect(parseRedisUrl('rediss+sentinel://app:p%2Fw%40x@[::1]:26379,h2:26379/main.1/3')).toEqual({
      kind: 'sentinel',
      tls: true,
      masterName: 'main.1',
      db: 3,
      username: 'app',
      password: 'p/w@x',
      sentinels: [
        { host: '::1', port: 26379 },
        { host: 'h2', port: 26379 },
      ],
    });
    expect(parseRedisUrl('redis+sentinel://:pw@h1:26379/m')).toMatchObject({ password: 'pw' });
    expect(parseRedisUrl('redis+sentinel://pw@h1:26379/m')).toMatchObject({ password: 'pw' });
  });

  it('reads the Cluster form', () => {
    expect(parseRedisUrl('redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002')).toEqual({
      kind: 'cluster',
      tls: false,
      password: 'pw',
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
        { host: '127.0.0.1', port: 7002 },
      ],
    });
    expect(parseRedisUrl('rediss+cluster://n1,n2/')).toMatchObject({
      kind: 'cluster',
      tls: true,
      nodes: [
        { host: 'n1', port: 6379 },
        { host: 'n2', port: 6379 },
      ],
    });
  });

  it.each([
    ['http://h1:6379', /must start with redis:\/\//],
    ['redis+sentinel:///mymaster', /names no host/],
    ['redis+sentinel://:pw@/mymaster', /names no host/],
    ['redis+sentinel://h1:26379,', /host 2 of the list is not host:port/],
    ['redis+sentinel://h1:26379,,h2:26379/m', /host 2 of the list is not host:port/],
    ['redis+sentinel://h1:99999/m', /port 99999, not 1\.\.65535/],
    ['redis+sentinel://h1:0/m', /port 0/],
    ['redis+sentinel://h1:abc/m', /not host:port/],
    ['redis+sentinel://h1:26379', /needs the master name/],
    ['redis+sentinel://h1:26379/', /needs the master name/],
    ['redis+sentinel://h1:26379/my master', /master name must be/],
    ['redis+sentinel://h1:26379/m/x', /only a database number/],
    ['redis+sentinel://h1:26379/m/1/2', /only a database number/],
    ['redis+sentinel://h1:26379/m?db=1', /takes no \?options/],
    ['redis+cluster://h1:7000/1', /takes no \/path/],
    ['redis+cluster://', /names no host/],
    ['redis+cluster://a:%zz@h1:7000', /malformed %-escape/],
    ['redis+cluster://h1:7000;FLUSHALL', /not host:port/],
  ])('refuses %j', (value, message) => {
    expect(() => parseRedisUrl(value)).toThrow(EngineUrlError);
    expect(() => parseRedisUrl(value)).toThrow(message);
  });

  it('never echoes a password in its messages', () => {
    expect(() => parseRedisUrl('redis+sentinel://u:hunter2@h1:26379')).toThrow(/^(?!.*hunter2)/);
  });
});

describe('namesReplicaSet', () => {
  it('is true for replicaSet= in the query (any case) and for mongodb+srv://', () => {
    expect(namesReplicaSet('mongodb://a:27017,b:27017/?replicaSet=rs0')).toBe(true);
    expect(namesReplicaSet('mongodb://a:27017/?REPLICASET=rs0&w=1')).toBe(true);
    expect(namesReplicaSet('mongodb+srv://cluster0.example.net/')).toBe(true);
    expect(namesReplicaSet('mongodb://127.0.0.1:27017/')).toBe(false);
    expect(namesReplicaSet('mongodb://a:27017,b:27017/?directConnection=true')).toBe(false);
  });
});

describe('configuration of the engines', () => {
  it('accepts the cluster forms and the new variables, with their defaults', () => {
    const config = loadConfig({
      NATS_URL: 'nats://h1:4222,nats://h2:4222,nats://h3:4222',
      REDIS_URL: 'redis+sentinel://h1:26379,h2:26379,h3:26379/mymaster',
      NATS_CREDS: '/run/secrets/tally.creds',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
    });
    expect(config).toMatchObject({ natsStreamReplicas: 1, redisSentinelPassword: 'sentinel-secret', natsSecurity: { credsFile: '/run/secrets/tally.creds' } });
    expect(loadConfig({ NATS_STREAM_REPLICAS: '3', REDIS_URL: 'redis+cluster://h1:7000,h2:7001' }).natsStreamReplicas).toBe(3);
  });

  it('names the variable of a bad form', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis+sentinel://h1:26379' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis+sentinel://h1:26379' })).toThrow(/^REDIS_URL: the sentinel form needs the master name/);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://' })).toThrow(/^REDIS_URL: names no host/);
    expect(() => loadConfig({ NATS_URL: 'nats://h1:4222,,nats://h2:4222' })).toThrow(/^NATS_URL: has an empty entry/);
    for (const value of ['0', '6', '2.5']) expect(() => loadConfig({ NATS_STREAM_REPLICAS: value })).toThrow(/^NATS_STREAM_REPLICAS: /);
  });

  it('takes a MongoDB seed list (a replica set names several hosts) and names MONGO_URL for a bad one', () => {
    for (const ok of [
      'mongodb://127.0.0.1:27017/',
      'mongodb://mongo-0.mongo:27017,mongo-1.mongo:27017,mongo-2.mongo:27017/tally?replicaSet=rs0',
      'mongodb://user:p%40ss@h1,h2:27018/?replicaSet=rs0&authSource=admin',
      'mongodb+srv://cluster0.example.net/tally?retryWrites=true',
    ])
      expect(loadConfig({ MONGO_URL: ok }).mongoUrl).toBe(ok);
    for (const [bad, message] of [
      ['postgres://h1/db', /^MONGO_URL: must be mongodb:\/\//],
      ['mongodb://', /^MONGO_URL: names no host/],
      ['mongodb://h1,,h2/', /^MONGO_URL: host 2 of the list is not host:port/],
      ['mongodb://h1:99999/', /^MONGO_URL: host 1 of the list has port 99999/],
      ['mongodb+srv://h1,h2/', /^MONGO_URL: mongodb\+srv:\/\/ names exactly one host/],
      ['mongodb+srv://h1:27017/', /^MONGO_URL: mongodb\+srv:\/\/ names exactly one host/],
    ] as const)
      expect(() => loadConfig({ MONGO_URL: bad })).toThrow(message);
  });
});
