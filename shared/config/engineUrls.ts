/**
 * The cluster forms of NATS_URL and REDIS_URL, parsed by hand: WHATWG URL takes one host,
 * and these name several (`nats://h1:4222,nats://h2:4222`, `redis+sentinel://h1:26379,h2:26379/mymaster`).
 * Pure: the config schema validates with them, the connection factories build clients from them.
 */

/** A malformed engine URL; `message` says what is wrong, never echoing a password. */
export class EngineUrlError extends Error {
  readonly code = 'engine_url_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'EngineUrlError';
  }
}

export interface HostPort {
  host: string;
  port: number;
}

/** Where NATS_URL points: the servers (credentials removed) and the credentials they carried. */
export interface NatsServers {
  servers: string[];
  /** `nats://user:password@host` */
  user?: string;
  pass?: string;
  /** `nats://token@host` (a user name without a password is a token, as in every NATS client). */
  token?: string;
  /** Any server named with `tls://`: the connection must be encrypted. */
  tls: boolean;
}

const NATS_SCHEMES = ['nats', 'tls', 'ws', 'wss'];

/** `nats://h1:4222,nats://h2:4222` (one URL is a list of one). */
export function parseNatsServers(value: string): NatsServers {
  const entries = value.split(',').map((s) => s.trim());
  if (entries.some((e) => e === '')) throw new EngineUrlError('has an empty entry in its comma-separated server list');
  const result: NatsServers = { servers: [], tls: false };
  let credentials: string | undefined;
  for (const entry of entries) {
    if (!URL.canParse(entry)) throw new EngineUrlError(`entry ${entries.indexOf(entry) + 1} is not a URL`);
    const url = new URL(entry);
    const scheme = url.protocol.slice(0, -1);
    if (!NATS_SCHEMES.includes(scheme)) throw new EngineUrlError(`every server must start with ${NATS_SCHEMES.join(':// or ')}://`);
    if (url.hostname === '') throw new EngineUrlError(`entry ${entries.indexOf(entry) + 1} names no host`);
    if (scheme === 'tls' || scheme === 'wss') result.tls = true;
    const seen = url.username || url.password ? `${url.username}:${url.password}` : undefined;
    if (seen !== undefined) {
      if (credentials !== undefined && credentials !== seen) throw new EngineUrlError('servers carry different credentials');
      credentials = seen;
      url.username = '';
      url.password = '';
    }
    result.servers.push(url.toString().replace(/\/$/, ''));
  }
  if (credentials !== undefined) {
    const [user = '', pass = ''] = credentials.split(':').map((s) => decode(s));
    if (pass === '') result.token = user;
    else Object.assign(result, { user, pass });
  }
  return result;
}

/** What REDIS_URL names: one server (ioredis parses the URL itself), a Sentinel set or a Cluster. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'sentinel'; tls: boolean; sentinels: HostPort[]; masterName: string; db: number; username?: string; password?: string }
  | { kind: 'cluster'; tls: boolean; nodes: HostPort[]; username?: string; password?: string };

const REDIS_FORM = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/(.*)$/s;
const DEFAULT_PORT = { sentinel: 26379, cluster: 6379 } as const;
const MASTER_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * `redis://…`, `rediss://…`;
 * `redis+sentinel://[[user]:password@]h1:26379,h2:26379/mastername[/db]` (`rediss+sentinel` for TLS);
 * `redis+cluster://[[user]:password@]h1:7000,h2:7001` (`rediss+cluster` for TLS).
 */
export function parseRedisUrl(value: string): RedisTarget {
  const form = REDIS_FORM.exec(value);
  if (!form) throw new EngineUrlError('must start with redis://, rediss://, redis+sentinel://, rediss+sentinel://, redis+cluster:// or rediss+cluster://');
  const [, scheme, topology, rest = ''] = form as unknown as [string, string, 'sentinel' | 'cluster' | undefined, string];
  if (!topology) {
    if (!URL.canParse(value)) throw new EngineUrlError('must be a URL');
    return { kind: 'single', url: value };
  }
  if (rest.includes('?') || rest.includes('#')) throw new EngineUrlError(`the ${topology} form takes no ?options or #fragment`);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const hostList = at === -1 ? authority : authority.slice(at + 1);
  const auth = at === -1 ? {} : userInfo(authority.slice(0, at));
  const hosts = parseHosts(hostList, DEFAULT_PORT[topology]);
  const tls = scheme === 'rediss';
  if (topology === 'cluster') {
    if (path !== '') throw new EngineUrlError('the cluster form takes no /path (a Redis Cluster has only database 0)');
    return { kind: 'cluster', tls, nodes: hosts, ...auth };
  }
  const [masterName = '', db, ...extra] = path.split('/');
  if (masterName === '') throw new EngineUrlError('the sentinel form needs the master name: redis+sentinel://h1:26379,h2:26379/mymaster');
  if (!MASTER_NAME.test(masterName)) throw new EngineUrlError('the master name must be 1..128 of [A-Za-z0-9._-]');
  if (extra.length > 0 || (db !== undefined && !/^\d{1,5}$/.test(db)))
    throw new EngineUrlError('after the master name only a database number may follow: /mymaster/0');
  return { kind: 'sentinel', tls, sentinels: hosts, masterName, db: db === undefined ? 0 : Number(db), ...auth };
}

function parseHosts(list: string, defaultPort: number): HostPort[] {
  if (list.trim() === '') throw new EngineUrlError('names no host');
  return list.split(',').map((entry, i) => {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(entry.trim());
    if (!m) throw new EngineUrlError(`host ${i + 1} of the list is not host:port`);
    const port = m[2] === undefined ? defaultPort : Number(m[2]);
    if (port < 1 || port > 65535) throw new EngineUrlError(`host ${i + 1} of the list has port ${m[2]}, not 1..65535`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

function userInfo(raw: string): { username?: string; password?: string } {
  const colon = raw.indexOf(':');
  const username = decode(colon === -1 ? raw : raw.slice(0, colon));
  const password = colon === -1 ? '' : decode(raw.slice(colon + 1));
  // `redis://secret@host` means a password for the default user, as ioredis reads it.
  if (colon === -1) return username === '' ? {} : { password: username };
  return { ...(username !== '' ? { username } : {}), ...(password !== '' ? { password } : {}) };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new EngineUrlError('has a malformed %-escape in its credentials');
  }
}

/** A MongoDB URL that names a replica set: `replicaSet=` in its query, or `mongodb+srv://` (Atlas and most operators). */
export function namesReplicaSet(url: string): boolean {
  if (url.startsWith('mongodb+srv://')) return true;
  const query = url.split('?')[1] ?? '';
  return [...new URLSearchParams(query).keys()].some((k) => k.toLowerCase() === 'replicaset');
}

const MONGO_FORM = /^(mongodb|mongodb\+srv):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/s;

/**
 * `mongodb://[user:password@]h1:27017[,h2:27017,...][/db][?options]` or `mongodb+srv://[user:password@]host[/db][?options]`:
 * a replica set's seed list names several hosts, which WHATWG URL does not take. The driver
 * reads the options; this checks the form, so a typo is named at start, not at first connect.
 */
export function checkMongoUrl(value: string): void {
  const form = MONGO_FORM.exec(value);
  if (!form) throw new EngineUrlError('must be mongodb://host[:port][,host[:port]...][/database][?options] or mongodb+srv://host[/database][?options]');
  const [, scheme, authority = ''] = form;
  const at = authority.lastIndexOf('@');
  if (at !== -1) decode(authority.slice(0, at));
  const hosts = parseHosts(at === -1 ? authority : authority.slice(at + 1), 27017);
  if (scheme === 'mongodb+srv' && (hosts.length !== 1 || /:\d+$/.test(authority)))
    throw new EngineUrlError('mongodb+srv:// names exactly one host, without a port');
}
