import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { natsConnectOptions, NatsSecurityError } from '../../../shared/bus/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tally-nats-options-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
// Shaped like a user NKey seed: the authenticator decodes it only when a server sends its nonce.
const SEED = 'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4';

describe('natsConnectOptions', () => {
  it('passes a server list as servers, with the credentials moved out of the URLs', async () => {
    expect(await natsConnectOptions('nats://u:p@h1:4222,nats://u:p@h2:4222')).toEqual({ servers: ['nats://h1:4222', 'nats://h2:4222'], user: 'u', pass: 'p' });
    expect(await natsConnectOptions('nats://tok@h1:4222')).toEqual({ servers: ['nats://h1:4222'], token: 'tok' });
    expect(await natsConnectOptions('nats://127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'] });
  });

  it('reads the TLS files into the tls option; tls:// alone asks for TLS too', async () => {
    const options = await natsConnectOptions('nats://h1:4222', {
      tlsCaFile: file('ca.pem', 'CA'),
      tlsCertFile: file('cert.pem', 'CERT'),
      tlsKeyFile: file('key.pem', 'KEY'),
    });
    expect(options.tls).toEqual({ ca: 'CA', cert: 'CERT', key: 'KEY' });
    expect((await natsConnectOptions('tls://h1:4222')).tls).toEqual({});
  });

  it('builds authenticators from NATS_NKEY_SEED and NATS_CREDS files', async () => {
    const withSeed = await natsConnectOptions('nats://h1:4222', { nkeySeedFile: file('user.nk', `${SEED}\n`) });
    expect(withSeed.authenticator).toHaveLength(1);
    const creds = `-----BEGIN NATS USER JWT-----\neyJhbGciOiJlZDI1NTE5In0.e30.sig\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${SEED}\n------END USER NKEY SEED------\n`;
    const withCreds = await natsConnectOptions('nats://h1:4222', { credsFile: file('user.creds', creds) });
    expect(withCreds.authenticator).toHaveLength(1);
  });

  it('names the variable of a file it cannot read', async () => {
    for (const [key, variable] of [
      ['credsFile', 'NATS_CREDS'],
      ['nkeySeedFile', 'NATS_NKEY_SEED'],
      ['tlsCaFile', 'NATS_TLS_CA'],
      ['tlsCertFile', 'NATS_TLS_CERT'],
      ['tlsKeyFile', 'NATS_TLS_KEY'],
    ] as const) {
      const attempt = natsConnectOptions('nats://h1:4222', { [key]: join(dir, 'missing') });
      await expect(attempt).rejects.toThrow(NatsSecurityError);
      await expect(natsConnectOptions('nats://h1:4222', { [key]: join(dir, 'missing') })).rejects.toThrow(
        new RegExp(`^${variable}: cannot read .*missing \\(ENOENT\\)`),
      );
    }
  });
});
