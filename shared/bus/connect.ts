import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { parseNatsServers, type NatsSecurityFiles } from '../config/index.js';

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

/** A credentials or TLS file named by a variable that cannot be read: the message names the variable. */
export class NatsSecurityError extends Error {
  readonly code = 'nats_security_file';
  constructor(variable: string, path: string, cause: unknown) {
    super(`${variable}: cannot read ${path} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
    this.name = 'NatsSecurityError';
  }
}

async function readSecurityFile(variable: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new NatsSecurityError(variable, path, err);
  }
}

/**
 * The connection options for NATS_URL (one server or a comma-separated list) and the
 * security files: user:password@ or token@ in the URLs (the Node client does not read them
 * from a URL itself), NATS_CREDS (a .creds file: JWT + NKey seed), NATS_NKEY_SEED, and
 * NATS_TLS_CA / NATS_TLS_CERT / NATS_TLS_KEY (any of them, or a `tls://` server, means TLS).
 * Files are read here, at connect time, so a rotated credential is picked up by a restart.
 */
export async function natsConnectOptions(url: string, security: NatsSecurityFiles = {}): Promise<ConnectionOptions> {
  const { servers, user, pass, token, tls } = parseNatsServers(url);
  const authenticators: Authenticator[] = [];
  if (security.credsFile) {
    authenticators.push(credsAuthenticator(new TextEncoder().encode(await readSecurityFile('NATS_CREDS', security.credsFile))));
  }
  if (security.nkeySeedFile) {
    const seed = (await readSecurityFile('NATS_NKEY_SEED', security.nkeySeedFile)).trim();
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  const tlsOptions: { ca?: string; cert?: string; key?: string } = {};
  if (security.tlsCaFile) tlsOptions.ca = await readSecurityFile('NATS_TLS_CA', security.tlsCaFile);
  if (security.tlsCertFile) tlsOptions.cert = await readSecurityFile('NATS_TLS_CERT', security.tlsCertFile);
  if (security.tlsKeyFile) tlsOptions.key = await readSecurityFile('NATS_TLS_KEY', security.tlsKeyFile);
  const useTls = tls || Object.keys(tlsOptions).length > 0;
  return {
    servers,
    ...(user !== undefined ? { user, pass } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(authenticators.length > 0 ? { authenticator: authenticators } : {}),
    ...(useTls ? { tls: tlsOptions } : {}),
  };
}

/**
 * The services' inbox prefix (SPEC 14): the replies to their requests (JetStream API
 * answers, pub-acks, pulled messages) never travel on `_INBOX.>`, the one subject tree a
 * producer may subscribe to, so a producer sharing their NATS account sees none of it.
 */
export const SERVICES_INBOX_PREFIX = '_TALLY_INBOX';

/**
 * One NATS connection with its JetStream client and manager. Reconnects forever, to any
 * server of the list (the client also learns the cluster's other servers from the one it reaches).
 *
 * noAsyncTraces: by default the client builds two Error objects (a stack capture each)
 * for every request, JetStream publishes included, so that a later timeout can point at
 * the caller. That was 30% of a replay's CPU; errors still carry their message and cause.
 */
export async function connectBus(url: string, name: string, security: NatsSecurityFiles = {}): Promise<Bus> {
  const options = await natsConnectOptions(url, security);
  const nc = await connect({ ...options, name, inboxPrefix: SERVICES_INBOX_PREFIX, maxReconnectAttempts: -1, reconnectTimeWait: 250, noAsyncTraces: true });
  const js = jetstream(nc, { timeout: 10_000 });
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  return {
    nc,
    js,
    jsm,
    close: async () => {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}
