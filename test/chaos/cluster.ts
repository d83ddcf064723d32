/**
 * The product as the chaos run deploys it: embedded nats-server, redis-server and FerretDB
 * (test/bench/harness.ts), and `tally bridge` x2, `tally worker` x2, `tally api` and
 * `tally scheduler` as separate processes of the compiled build. A process the run kills
 * is started again by the fault that killed it; one that exits on its own is a crash:
 * recorded, and started again so the run goes on (the report fails on any).
 */
import { join } from 'node:path';
import type { Embedded } from '../../shared/runtime/index.js';
import { spawnServices, type ServiceName, type ServiceProcess } from '../bench/harness.js';

export const SLOTS = ['bridge-0', 'bridge-1', 'worker-0', 'worker-1', 'api', 'scheduler'] as const;
export type Slot = (typeof SLOTS)[number];

export interface Crash {
  slot: Slot;
  code: number | null;
  signal: string | null;
  /** The end of its log. */
  tail: string;
}

const kindOf = (slot: Slot): ServiceName => slot.replace(/-\d+$/, '') as ServiceName;

export class Cluster {
  private readonly procs = new Map<Slot, ServiceProcess>();
  /** Processes the run itself stopped or killed: their exit is no crash. */
  private readonly expected = new Set<ServiceProcess>();
  readonly crashes: Crash[] = [];
  private closing = false;
  private starts = 0;
  /** Should the run itself die, its services go with it. */
  private readonly onExit = (): void => {
    for (const p of this.procs.values()) p.child.kill('SIGKILL');
  };

  constructor(
    readonly servers: Embedded,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    private readonly log: (line: string) => void,
    private readonly envFor: Partial<Record<ServiceName, Record<string, string>>> = {},
  ) {}

  async startAll(): Promise<void> {
    process.on('exit', this.onExit);
    for (const slot of SLOTS) await this.start(slot);
  }

  /** Starts the slot's process and resolves once it logged that it is up. */
  async start(slot: Slot): Promise<void> {
    const kind = kindOf(slot);
    const n = this.starts++;
    const [proc] = await spawnServices(this.env, { names: [kind], envFor: this.envFor, logFile: () => join(this.logDir, `${slot}.${n}.log`), startTimeoutMs: 900_000 });
    this.procs.set(slot, proc!);
    proc!.child.once('exit', (code, signal) => {
      if (this.expected.has(proc!) || this.closing) return;
      this.crashes.push({ slot, code, signal, tail: proc!.log().slice(-3000) });
      this.log(`CRASH: ${slot} exited on its own (code ${code}, signal ${signal}); starting it again`);
      if (this.procs.get(slot) === proc) void this.start(slot).catch((err: Error) => this.log(`could not restart ${slot}: ${err.message}`));
    });
  }

  pid(slot: Slot): number | undefined {
    return this.procs.get(slot)?.child.pid;
  }

  /** SIGKILL, wait for the exit, start it again. */
  async killAndRestart(slot: Slot): Promise<void> {
    const proc = this.procs.get(slot);
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      this.expected.add(proc);
      const exited = new Promise((r) => proc.child.once('exit', r));
      proc.child.kill('SIGKILL');
      await exited;
    }
    await this.start(slot);
  }

  signal(slot: Slot, signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.procs.get(slot)?.child.kill(signal);
  }

  /** SIGTERM to every process at once; exit code by slot (0: drained and stopped cleanly). */
  async stopAll(): Promise<Record<string, number | null>> {
    this.closing = true;
    const codes = await Promise.all([...this.procs].map(async ([slot, proc]) => {
      this.expected.add(proc);
      proc.child.kill('SIGCONT');
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        const exited = new Promise((r) => proc.child.once('exit', r));
        proc.child.kill('SIGTERM');
        const timer = setTimeout(() => proc.child.kill('SIGKILL'), 120_000);
        await exited;
        clearTimeout(timer);
      }
      return [slot, proc.child.exitCode] as const;
    }));
    process.removeListener('exit', this.onExit);
    return Object.fromEntries(codes);
  }

  /** The end of each slot's current log, for a report on a process that did not stop cleanly. */
  tail(slot: Slot): string {
    return this.procs.get(slot)?.log().slice(-3000) ?? '';
  }
}
