import { chmod, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { NatsSecurityFiles } from '../config/index.js';
import { EmbeddedError } from './errors.js';
import { isAlive } from './processInfo.js';

/** Where the three servers are, and who the services are to NATS. */
export interface Endpoints {
  natsUrl: string;
  /** The identity for natsUrl: the configured NATS_CREDS / NATS_NKEY_SEED / TLS files, or the embedded services' nkey. */
  natsSecurity: NatsSecurityFiles;
  /** Carries the embedded Redis's password (`redis://:PASS@...`): print it only through redactUrl. */
  redisUrl: string;
  mongoUrl: string;
}

/** `DATA_DIR/endpoints.json` (mode 600), written by `tally up` once every server answers, removed when it stops. */
export interface EndpointsFile {
  natsUrl: string;
  redisUrl: string;
  mongoUrl: string;
  /** Absolute path of the services' nkey seed: every `tally` command with this DATA_DIR connects with it. */
  serviceNkey: string;
  /** Absolute path of the producers' nkey seed, to hand to whatever publishes usage. */
  producerNkey: string;
  /** The `tally up` process that owns the servers. */
  pid: number;
  startedAt: string;
}

export const ENDPOINTS_FILE = 'endpoints.json';

const endpointsSchema = z.object({
  natsUrl: z.string().min(1),
  redisUrl: z.string().min(1),
  mongoUrl: z.string().min(1),
  serviceNkey: z.string().min(1),
  producerNkey: z.string().min(1),
  pid: z.number().int(),
  startedAt: z.string(),
});

/** Written to a temporary name and renamed, so a reader never sees half a file; mode 600 (it holds the Redis password). */
export async function writeEndpoints(dataDir: string, endpoints: EndpointsFile): Promise<void> {
  const path = join(dataDir, ENDPOINTS_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600); // a leftover temporary file keeps its own mode through writeFile
  await rename(tmp, path);
}

export async function removeEndpoints(dataDir: string): Promise<void> {
  await unlink(join(dataDir, ENDPOINTS_FILE)).catch(() => {});
}

const runTallyUp = 'run `tally up` (with the same DATA_DIR) first, or set NATS_URL, REDIS_URL and MONGO_URL';

/**
 * The endpoints a running `tally up` published under `dataDir`. Fails with
 * `endpoints_missing` when there are none, or when the process that wrote them is gone
 * (a crash leaves the file behind; its ports may since belong to something else).
 */
export async function readEndpoints(dataDir: string): Promise<EndpointsFile> {
  const path = join(resolve(dataDir), ENDPOINTS_FILE);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new EmbeddedError('endpoints_missing', `no servers are running for DATA_DIR ${dataDir} (${path} not found): ${runTallyUp}`);
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const parsed = endpointsSchema.safeParse(json);
  if (!parsed.success) {
    throw new EmbeddedError('endpoints_missing', `${path} is not valid (${parsed.error.issues[0]?.message ?? 'bad shape'}): ${runTallyUp}`);
  }
  if (!isAlive(parsed.data.pid)) {
    throw new EmbeddedError('endpoints_missing', `${path} is stale: tally pid ${parsed.data.pid} is no longer running; ${runTallyUp}`);
  }
  return parsed.data;
}

/** What a command knows about where the servers are: configured URLs, NATS identity and the data folder. */
export interface EndpointSources {
  natsUrl?: string | undefined;
  /** Goes with a configured natsUrl; the embedded NATS takes the services' nkey instead. */
  natsSecurity?: NatsSecurityFiles | undefined;
  redisUrl?: string | undefined;
  mongoUrl?: string | undefined;
  dataDir: string;
}

/**
 * The servers a command should use. With all three URLs configured, those; otherwise the
 * endpoints of the `tally up` running on `dataDir`, with any configured URL taking
 * precedence over its embedded counterpart (e.g. MONGO_URL set, NATS and Redis embedded).
 */
export async function resolveEndpoints(sources: EndpointSources): Promise<Endpoints> {
  const { natsUrl, redisUrl, mongoUrl, natsSecurity = {} } = sources;
  if (natsUrl && redisUrl && mongoUrl) return { natsUrl, natsSecurity, redisUrl, mongoUrl };
  const embedded = await readEndpoints(sources.dataDir);
  return {
    natsUrl: natsUrl || embedded.natsUrl,
    natsSecurity: natsUrl ? natsSecurity : { nkeySeedFile: embedded.serviceNkey },
    redisUrl: redisUrl || embedded.redisUrl,
    mongoUrl: mongoUrl || embedded.mongoUrl,
  };
}
