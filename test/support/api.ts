/** Helpers for the accounts and billing API tests: API processes, a signed webhook, a JSON client. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../shared/config/index.js';
import { freePort, type Endpoints } from '../../shared/runtime/index.js';
import { signBody, startApi } from '../../services/api/index.js';
import { startWorker } from '../../services/worker/main.js';
import { afterAll, beforeAll } from 'vitest';
import { connectMongo, type MongoConnection } from '../../shared/store/index.js';
import { testConfig } from './pipeline.js';
import { natsSecurityEnv } from './processes.js';
import { startTestServers, testLogger, type TestServers } from './servers.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The env of an API test: the servers, a fresh database, both secrets, and overrides. */
export function apiEnv(endpoints: Endpoints, env: Record<string, string> = {}): Record<string, string> {
  const config = testConfig(endpoints);
  return {
    NATS_URL: endpoints.natsUrl,
    ...natsSecurityEnv(endpoints),
    REDIS_URL: endpoints.redisUrl,
    MONGO_URL: endpoints.mongoUrl,
    MONGO_DB: config.mongoDb,
    SHARDS: '4',
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    ...env,
  };
}

export function configOf(endpoints: Endpoints, env: Record<string, string>): Config {
  return testConfig(endpoints, env);
}

/** A shard worker (folds) and an API in this process, on a free port. */
export async function startStack(config: Config, endpoints: Endpoints) {
  const logger = testLogger();
  const worker = await startWorker(config, endpoints, logger);
  const api = await startApi({ ...config, httpPort: 0 }, endpoints, logger);
  const stack = {
    /** Replaceable: a test may stop it and start another owner. */
    worker,
    url: api.url,
    async stop() {
      await api.stop();
      await stack.worker.stop();
    },
  };
  return stack;
}

export interface ApiStack {
  servers: TestServers;
  env: Record<string, string>;
  config: Config;
  stack: Awaited<ReturnType<typeof startStack>>;
  mongo: MongoConnection;
}

/**
 * One describe block's servers, API + worker stack and store connection, started before
 * its tests and stopped after them. The fields are set once `beforeAll` has run.
 */
export function useApiStack(envOf: (servers: TestServers) => Record<string, string> = (servers) => apiEnv(servers)): ApiStack {
  const ctx = {} as ApiStack;
  beforeAll(async () => {
    ctx.servers = await startTestServers();
    ctx.env = envOf(ctx.servers);
    ctx.config = configOf(ctx.servers, ctx.env);
    ctx.stack = await startStack(ctx.config, ctx.servers);
    ctx.mongo = await connectMongo(ctx.servers.mongoUrl, ctx.config.mongoDb);
  });
  afterAll(async () => {
    await ctx.stack?.stop();
    await ctx.mongo?.close();
    await ctx.servers?.stop();
  });
  return ctx;
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `tally api` as its own process (what production runs), ready once /healthz answers. */
export async function spawnApi(env: Record<string, string>, options: { onStderr?: (chunk: string) => void } = {}): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'api'], {
    cwd: REPO,
    env: { ...process.env, ...env, HTTP_PORT: String(port) },
    // Piped only when a test reads the process's logs (e.g. to prove a secret never appears in them).
    stdio: ['ignore', 'ignore', options.onStderr ? 'pipe' : 'inherit'],
  });
  if (options.onStderr) child.stderr?.on('data', (chunk: Buffer) => options.onStderr?.(chunk.toString('utf8')));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tally api exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('tally api did not start within 60 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Answer {
  status: number;
  /** Whatever the route answered; each test asserts the fields it needs. */
  body: any;
}

export async function call(
  url: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  let payload: string | undefined = options.raw;
  if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export interface Payment {
  payment_id: string;
  account_id: string;
  amount_micros: number | string;
  paid_at: string;
}

/** A payment webhook call, signed with the test secret unless `signature` says otherwise. */
export async function pay(url: string, payment: Payment | string, signature?: string): Promise<Answer> {
  const raw = typeof payment === 'string' ? payment : JSON.stringify(payment);
  return call(url, 'POST', '/v1/webhooks/payment', { raw, token: null, headers: { 'x-tally-signature': signature ?? signBody(raw, WEBHOOK_SECRET) } });
}
