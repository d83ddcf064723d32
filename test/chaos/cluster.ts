/**
 * The product as separate processes of the compiled build, one per slot: the chaos run's
 * `tally bridge` x2, `tally worker` x2, `tally api` and `tally scheduler` on embedded
 * servers (test/bench/harness.ts), or the cluster run's slots on clustered engines
 * (test/cluster). A process the run kills is started again by the fault that killed it;
 * one that exits on its own is a crash: recorded, and started again so the run goes on
 * (the report fails on any).
 */
import { join } from 'node:path';
import { spawnServices, type ServiceName, type ServiceProcess } from '../bench/harness.js';

/** One process of the deployment: its name, what it runs, and variables for it alone. */
export interface SlotSpec {
  slot: string;
  kind: ServiceName;
  env?: Record<string, string>;
}

export type Slot = string;

/** The chaos run's deployment; `workerEnv` reaches the workers only. */
export function chaosSlots(workerEnv: Record<string, string> = {}): SlotSpec[] {
  return [
    { slot: 'bridge-0', kind: 'bridge' },
    { slot: 'bridge-1', kind: 'bridge' },
    { slot: 'worker-0', kind: 'worker', env: workerEnv },
    { slot: 'worker-1', kind: 'worker', env: workerEnv },
    { slot: 'api', kind: 'api' },
    { slot: 'scheduler', kind: 'scheduler' },
  ];
}

export interface Crash {
  slot: Slot;
  code: number | null;
  signal: string | null;
  /** The end of its log. */
  tail: string;
}

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

  private readonly specs: Map<Slot, SlotSpec>;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    private readonly log: (line: string) => void,
    slots: readonly SlotSpec[],
  ) {
    this.specs = new Map(slots.map((s) => [s.slot, s]));
  }

  get slots(): Slot[] {
    return [...this.specs.keys()];
  }

  async startAll(): Promise<void> {
    process.on('exit', this.onExit);
    for (const slot of this.specs.keys()) await this.start(slot);
  }

  /** Starts the slot's process and resolves once it logged that it is up. */
  async start(slot: Slot): Promise<void> {
    const spec = this.specs.get(slot);
    if (!spec) throw new Error(`no slot ${slot}`);
    const n = this.starts++;
    const [proc] = await spawnServices(this.env, {
      names: [spec.kind],
      envFor: { [spec.kind]: spec.env ?? {} },
      logFile: () => join(this.logDir, `${slot}.${n}.log`),
      startTimeoutMs: 900_000,
    });
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
    const codes = await Promise.all(
      [...this.procs].map(async ([slot, proc]) => {
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
      }),
    );
    process.removeListener('exit', this.onExit);
    return Object.fromEntries(codes);
  }

  /** The end of each slot's current log, for a report on a process that did not stop cleanly. */
  tail(slot: Slot): string {
    return this.procs.get(slot)?.log().slice(-3000) ?? '';
  }
}
