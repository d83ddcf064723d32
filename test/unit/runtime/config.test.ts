import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../shared/config/index.js';
import { listenerUrl } from '../../../shared/runtime/index.js';

describe('configuration', () => {
  it('listens on loopback unless HTTP_HOST says otherwise', () => {
    expect(loadConfig({}).httpHost).toBe('127.0.0.1');
    expect(loadConfig({ HTTP_HOST: '' }).httpHost).toBe('127.0.0.1');
    expect(loadConfig({ HTTP_HOST: '0.0.0.0' }).httpHost).toBe('0.0.0.0');
    expect(loadConfig({ HTTP_HOST: '::' }).httpHost).toBe('::');
    expect(loadConfig({ HTTP_HOST: 'api.internal' }).httpHost).toBe('api.internal');
  });

  it('names HTTP_HOST when it is not an address', () => {
    expect(() => loadConfig({ HTTP_HOST: 'http://0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ HTTP_HOST: 'two words' })).toThrow(/^HTTP_HOST: must be a host name or an IP address/);
  });

  it('bounds every stream on disk by default, and refuses a byte limit below one largest message', () => {
    expect(loadConfig({})).toMatchObject({ usageMaxBytes: 8 * 2 ** 30, dlqMaxBytes: 2 ** 30, eventsMaxBytes: 2 ** 30 });
    expect(loadConfig({ USAGE_MAX_BYTES: '65536' }).usageMaxBytes).toBe(65536);
    for (const value of ['-1', '0', '65535', '1.5', 'lots']) expect(() => loadConfig({ USAGE_MAX_BYTES: value })).toThrow(/^USAGE_MAX_BYTES: /);
    expect(() => loadConfig({ DLQ_MAX_BYTES: '-1' })).toThrow(/^DLQ_MAX_BYTES: /);
  });

  it('reads TALLY_FAILPOINTS through the schema, naming it when malformed', () => {
    expect(loadConfig({ TALLY_FAILPOINTS: 'worker.after-log-append=3,bridge.after-enqueue' }).tallyFailpoints).toBe(
      'worker.after-log-append=3,bridge.after-enqueue',
    );
    for (const value of ['a=b', 'a,,b', 'a=1 b']) expect(() => loadConfig({ TALLY_FAILPOINTS: value })).toThrow(/^TALLY_FAILPOINTS: /);
  });
});

describe('listenerUrl', () => {
  it('prints wildcard listeners as loopback of their family and brackets IPv6', () => {
    expect(listenerUrl('0.0.0.0', 8080)).toBe('http://127.0.0.1:8080');
    expect(listenerUrl('127.0.0.1', 80)).toBe('http://127.0.0.1:80');
    expect(listenerUrl('::', 9000)).toBe('http://[::1]:9000');
    expect(listenerUrl('::1', 9000)).toBe('http://[::1]:9000');
    expect(listenerUrl('api.internal', 443)).toBe('http://api.internal:443');
  });
});
