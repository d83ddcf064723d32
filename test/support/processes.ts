import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Config } from '../../shared/config/index.js';
import type { Endpoints } from '../../shared/runtime/index.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** NATS_NKEY_SEED and the other NATS_* files naming `endpoints.natsSecurity`, for a process given NATS_URL. */
export function natsSecurityEnv(endpoints: Endpoints): Record<string, string> {
  const { credsFile, nkeySeedFile, tlsCaFile, tlsCertFile, tlsKeyFile } = endpoints.natsSecurity;
  const env: Record<string, string | undefined> = {
    NATS_CREDS: credsFile,
    NATS_NKEY_SEED: nkeySeedFile,
    NATS_TLS_CA: tlsCaFile,
    NATS_TLS_CERT: tlsCertFile,
    NATS_TLS_KEY: tlsKeyFile,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The environment a child `tally` process needs to run with a test's config. */
export function childEnv(config: Config, endpoints: Endpoints, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NATS_URL: endpoints.natsUrl,
    ...natsSecurityEnv(endpoints),
    REDIS_URL: endpoints.redisUrl,
    MONGO_URL: endpoints.mongoUrl,
    MONGO_DB: config.mongoDb,
    SHARDS: String(config.shards),
    WORKER_LEASE_TTL_MS: String(config.workerLeaseTtlMs),
    PROJECTION_FLUSH_MS: String(config.projectionFlushMs),
    NATS_ACK_WAIT_MS: String(config.natsAckWaitMs),
    NATS_DUPLICATE_WINDOW_MS: String(config.natsDuplicateWindowMs),
    NATS_STREAM_REPLICAS: String(config.natsStreamReplicas),
    ...(config.redisSentinelPassword !== undefined ? { REDIS_SENTINEL_PASSWORD: config.redisSentinelPassword } : {}),
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'info',
    ...extra,
  };
}

export interface TallyProcess {
  child: ChildProcess;
  /** Resolves with the exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves once the process has logged that it started (or has exited). */
  ready(): Promise<void>;
  /** Everything it has written so far (pino JSON lines). */
  output(): string;
  /** Waits until it has started (a signal during module loading would kill it outright), then SIGTERM and a clean exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The line each long-running command logs once it is serving. */
const STARTED = /"msg":"(worker started|bridge started|api listening|scheduler started)"/;

/**
 * Runs `tally <args>` from source in a child process (so it can be SIGKILLed), its output
 * appended to `logFile`.
 */
export function spawnTally(args: string[], env: NodeJS.ProcessEnv, logFile: string): TallyProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'services/cli/main.ts'), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  let started = false;
  let tail = '';
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (started) return;
    const text = tail + chunk.toString();
    started = STARTED.test(text);
    tail = text.slice(-200); // a line may arrive in two chunks
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const ready = (): Promise<void> => waitFor(() => started || !alive(), 120_000, `${args.join(' ')} to start`);
  return {
    child,
    exited,
    ready,
    output: () => output,
    kill: (signal) => {
      if (alive()) child.kill(signal);
    },
    async stop() {
      await ready();
      if (alive()) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls `check` until it is true or the time is up. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 60_000, what = 'condition', intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `tally <args>` from the compiled build (bin/tally.js), as a user runs it; `input` goes to its stdin. */
export function runTally(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(ROOT, 'bin/tally.js'), ...args], { env, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code ?? 1) : 0 });
    });
    child.stdin?.end(input);
  });
}
