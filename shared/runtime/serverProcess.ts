import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { EmbeddedError } from './errors.js';
import { waitReady, type Probe } from './probes.js';

export type ServerName = 'nats' | 'redis' | 'ferretdb';

export interface ServerSpec {
  name: ServerName;
  binary: string;
  args: readonly string[];
  /** The server's data folder; `restart({ wipe: true })` empties it. */
  dataPath: string;
  /** Added to the inherited environment. */
  env?: Readonly<Record<string, string>>;
  /** stdout and stderr of the server, appended across restarts. */
  logFile: string;
  probe: Probe;
  /** @defaultValue 30000 */
  readyTimeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * `setpriv --pdeathsig TERM` (util-linux) makes the kernel signal the server when the
 * process that spawned it dies, however it dies (SIGKILL and OOM included). With it we
 * also give each server its own process group, so a Ctrl-C at the terminal reaches only
 * tally, which then drains its services against live servers and stops them last.
 * Without it (not Linux) the servers stay in our group and at least die with a Ctrl-C.
 */
const SETPRIV = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) : undefined;

const TERMINATING: ReadonlySet<NodeJS.Signals> = new Set(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT', 'SIGABRT', 'SIGHUP']);

/** One child server: spawn, wait until its protocol answers, stop, kill, restart. */
export class ServerProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  private stopping = false;

  constructor(
    readonly spec: ServerSpec,
    private readonly logger: Logger,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the server and resolves once its probe passes; on failure it is killed and the log tail is in the error. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.spec.name} is already running (pid ${this.pid})`);
    const { name, binary, args, logFile } = this.spec;
    await mkdir(this.spec.dataPath, { recursive: true });
    const log = await open(logFile, 'a');
    const startOffset = (await log.stat()).size;
    let child: ChildProcess;
    try {
      const [command, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'TERM', '--', binary, ...args]] : [binary, [...args]];
      child = spawn(command, argv, {
        stdio: ['ignore', log.fd, log.fd],
        detached: SETPRIV !== undefined,
        env: { ...process.env, ...this.spec.env },
      });
    } finally {
      await log.close();
    }
    this.child = child;
    this.stopping = false;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('error', (err) => {
        this.logger.error({ err, server: name }, 'server failed to spawn');
        resolve({ code: -1, signal: null });
      });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    let ready = false;
    void this.exited.then((info) => {
      // Before it was ready, start() reports the failure itself.
      if (this.child === child && ready && !this.stopping) {
        this.logger.error({ server: name, serverPid: child.pid, ...info, logFile }, 'server exited unexpectedly');
      }
    });
    try {
      await waitReady(this.spec.probe, this.spec.readyTimeoutMs ?? 30_000, this.exited);
      ready = true;
    } catch (err) {
      await this.stop(2_000);
      const tail = await logTail(logFile, startOffset);
      throw new EmbeddedError('server_start_failed', `${name} (${binary}) did not start: ${(err as Error).message}; log ${logFile}:\n${tail}`, { cause: err });
    }
    this.logger.debug({ server: name, serverPid: child.pid }, 'server ready');
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.stopping = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.logger.warn({ server: this.spec.name, serverPid: child.pid, graceMs }, 'server ignored SIGTERM, killing it');
      child.kill('SIGKILL');
    }, graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends `signal` as a fault would. For a terminating signal it resolves once the process
   * is gone and the exit is not reported as unexpected; SIGSTOP/SIGCONT return at once.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    if (!TERMINATING.has(signal)) {
      child.kill(signal);
      return;
    }
    this.stopping = true;
    child.kill(signal);
    await this.exited;
  }

  /** Stops the server if it runs, optionally empties its data folder, and starts it on the same port. */
  async restart(options: { wipe?: boolean } = {}): Promise<void> {
    await this.stop();
    if (options.wipe) await rm(this.spec.dataPath, { recursive: true, force: true });
    await this.start();
  }

  /** For the process 'exit' hook, which cannot wait: the server gets SIGTERM and shuts down on its own. */
  signalSync(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) {
      this.stopping = true;
      this.child?.kill(signal);
    }
  }
}

async function logTail(file: string, from: number, max = 4_000): Promise<string> {
  try {
    const bytes = await readFile(file);
    const text = bytes.subarray(Math.max(from, bytes.length - max)).toString('utf8');
    return text.trim() || '(empty)';
  } catch {
    return '(no log)';
  }
}
