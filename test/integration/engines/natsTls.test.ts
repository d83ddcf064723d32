import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, type Bus } from '../../../shared/bus/index.js';
import { loadConfig } from '../../../shared/config/index.js';
import { findBinary } from '../../../shared/runtime/binaries.js';
import { freePort } from '../../../shared/runtime/index.js';
import { waitReady } from '../../../shared/runtime/probes.js';

const run = promisify(execFile);

/** `openssl` with the arguments, in `dir`. */
const openssl = (dir: string, ...args: string[]) => run('openssl', args, { cwd: dir });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA `<name>.pem` / `<name>.key`. */
async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, 'req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${name}`);
}

/** `<name>.pem` / `<name>.key` signed by `ca`, with the extensions given (SAN, key usage). */
async function makeLeaf(dir: string, ca: string, name: string, extensions: string): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(dir, 'req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  await openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  );
}

/** nats-server with TLS on a free port; ready once its monitor says so (the client port now speaks TLS only). */
async function startTlsServer(dir: string, name: string, extra: string[]): Promise<{ server: ChildProcess; url: string }> {
  const [port, monitor] = [await freePort(), await freePort()];
  const server = spawn(
    findBinary('nats-server'),
    [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-m',
      String(monitor),
      '-js',
      '-sd',
      join(dir, name),
      '--tls',
      '--tlscert',
      join(dir, 'server.pem'),
      '--tlskey',
      join(dir, 'server.key'),
      ...extra,
    ],
    { stdio: 'ignore' },
  );
  const healthy = async () => {
    const res = await fetch(`http://127.0.0.1:${monitor}/healthz`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`healthz ${res.status}`);
  };
  await waitReady(healthy, 15_000, once(server, 'exit'));
  return { server, url: `nats://127.0.0.1:${port}` };
}

/**
 * TLS to NATS with NATS_TLS_CA / NATS_TLS_CERT / NATS_TLS_KEY (issue 27 §2): against a
 * nats-server that requires TLS, and one that also verifies client certificates.
 * Certificates are made here with openssl: a CA, a server certificate for 127.0.0.1, a
 * client certificate, and another CA that signed neither.
 */
describe('TLS to NATS', () => {
  let dir: string;
  const servers: ChildProcess[] = [];
  const buses: Bus[] = [];
  let tlsUrl: string;
  let mutualUrl: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tally-nats-tls-'));
    await makeCa(dir, 'ca');
    await makeCa(dir, 'other-ca');
    await makeLeaf(dir, 'ca', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    await makeLeaf(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
    const tls = await startTlsServer(dir, 'tls', []);
    const mutual = await startTlsServer(dir, 'mutual', ['--tlsverify', '--tlscacert', file('ca.pem')]);
    servers.push(tls.server, mutual.server);
    [tlsUrl, mutualUrl] = [tls.url, mutual.url];
  }, 120_000);
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close().catch(() => undefined)));
    for (const s of servers) s.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const connect = async (url: string, env: Record<string, string>): Promise<Bus> => {
    const config = loadConfig({ NATS_URL: url, ...env });
    const bus = await connectBus(config.natsUrl!, 'tally-test-tls', config.natsSecurity);
    buses.push(bus);
    return bus;
  };

  it('NATS_TLS_CA alone: a server that requires TLS, its certificate checked against the CA', async () => {
    const bus = await connect(tlsUrl, { NATS_TLS_CA: file('ca.pem') });
    expect(bus.nc.info?.tls_required).toBe(true);
    expect((await bus.jsm.getAccountInfo()).streams).toBe(0);
  });

  it('a CA that did not sign the server certificate fails to connect, saying why', async () => {
    await expect(connect(tlsUrl, { NATS_TLS_CA: file('other-ca.pem') })).rejects.toThrow('unable to verify the first certificate');
  });

  it('a server verifying clients: NATS_TLS_CERT and NATS_TLS_KEY present the client certificate; without them the server refuses', async () => {
    const bus = await connect(mutualUrl, { NATS_TLS_CA: file('ca.pem'), NATS_TLS_CERT: file('client.pem'), NATS_TLS_KEY: file('client.key') });
    expect((await bus.jsm.getAccountInfo()).streams).toBe(0);
    // The server ends the handshake; the client reports it once its connect timeout (20 s) passes.
    await expect(connect(mutualUrl, { NATS_TLS_CA: file('ca.pem') })).rejects.toThrow(/timeout|certificate|closed/i);
  });
});
