import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from '../../../shared/runtime/index.js';
import { upBanner } from '../../../services/cli/commands/pipeline.js';

describe('redactUrl', () => {
  it.each([
    ['redis://u:secret@127.0.0.1:6379/0', 'redis://***@127.0.0.1:6379/0'],
    ['redis://:secret@host:6379', 'redis://***@host:6379'],
    ['nats://a-token@host:4222', 'nats://***@host:4222'],
    ['nats://a:b@h1:4222,nats://c:d@h2:4222', 'nats://***@h1:4222,nats://***@h2:4222'],
    ['nats://h1:4222, nats://x:y@h2:4222', 'nats://h1:4222, nats://***@h2:4222'],
    ['mongodb://u:p@h1:27017,h2:27017/db?replicaSet=rs&authSource=admin', 'mongodb://***@h1:27017,h2:27017/db?replicaSet=rs&authSource=admin'],
    ['mongodb+srv://u:p%40ss@cluster.example.net/db', 'mongodb+srv://***@cluster.example.net/db'],
    ['redis://u:a,b@host:1', 'redis://***@host:1'],
    ['redis://u:p@ss@host:1', 'redis://***@host:1'],
  ])('%s -> %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it('leaves URLs without credentials, and text that is no URL, as they are', () => {
    for (const text of ['nats://127.0.0.1:4222', 'http://127.0.0.1:8080/login', 'mongodb://h/db?x=a@b', '/v1/stats', '', 'user@example.com']) {
      expect(redactUrl(text)).toBe(text);
    }
  });
});

describe('what the product prints and logs', () => {
  it('tally up prints the server URLs without their credentials', () => {
    const banner = upBanner(
      { natsUrl: 'nats://u:pw-nats@n:4222', natsSecurity: {}, redisUrl: 'redis://u:pw-redis@r:6379', mongoUrl: 'mongodb://u:pw-mongo@m1:27017,m2:27017/' },
      { mongoDb: 'tally', dataDir: '.tally', adminToken: undefined },
      'http://127.0.0.1:8080',
      null,
      true,
    );
    expect(banner).toContain('redis://***@r:6379');
    expect(banner).not.toMatch(/pw-/);
  });

  it('tally up prints the local admin token only to a terminal; elsewhere the file it is in', () => {
    const endpoints = { natsUrl: 'nats://n:4222', redisUrl: 'redis://r:6379', mongoUrl: 'mongodb://m:27017/', natsSecurity: {} };
    const config = { mongoDb: 'tally', dataDir: '.tally', adminToken: undefined };
    const local = { token: 'local-token-0123456789abcdef', path: '.tally/admin-token', created: true };
    expect(upBanner(endpoints, config, 'http://127.0.0.1:8080', local, true)).toContain('/login#token=local-token-0123456789abcdef');
    const piped = upBanner(endpoints, config, 'http://127.0.0.1:8080', local, false);
    expect(piped).not.toContain('local-token');
    expect(piped).toContain('http://127.0.0.1:8080/login   (dashboard: sign in with the admin token created in .tally/admin-token');
  });

  it('the logger masks credentials in URL fields and keeps the rest of the URL', () => {
    let out = '';
    const destination = new Writable({ write: (chunk: Buffer, _e, done) => ((out += chunk.toString()), done()) });
    const logger = createLogger({ destination });
    logger.info({ natsUrl: 'nats://u:pw@n:4222', url: 'redis://:pw@r:6379', nested: { mongoUrl: 'mongodb://u:pw@m/' }, adminToken: 'pw' }, 'servers');
    const line = JSON.parse(out) as Record<string, unknown>;
    expect(line).toMatchObject({ natsUrl: 'nats://***@n:4222', url: 'redis://***@r:6379', nested: { mongoUrl: 'mongodb://***@m/' }, adminToken: '[redacted]' });
    expect(out).not.toContain('pw@');
  });
});
