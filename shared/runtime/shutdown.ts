import type { Logger } from 'pino';

export type ShutdownStep = () => Promise<void> | void;

export interface ShutdownOptions {
  logger: Logger;
  /** Hard limit for the whole drain; past it the process exits 1. @defaultValue 30000 */
  timeoutMs?: number;
  /** Injected for tests. @defaultValue process.exit */
  exit?: (code: number) => void;
}

/**
 * Graceful shutdown: on SIGTERM/SIGINT run the registered steps in reverse order of
 * registration (last started, first stopped), then exit 0. A second signal or the timeout
 * exits at once with 1, so an operator is never stuck behind a hung drain.
 */
export class Shutdown {
  private readonly steps: { name: string; step: ShutdownStep }[] = [];
  private running: Promise<void> | null = null;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.running) {
      this.options.logger.warn({ signal }, 'second signal: exiting now');
      this.exit(1);
      return;
    }
    void this.run(signal);
  };

  constructor(private readonly options: ShutdownOptions) {}

  private exit(code: number): void {
    (this.options.exit ?? process.exit)(code);
  }

  /** Registers a step; steps run last-in first-out. */
  add(name: string, step: ShutdownStep): this {
    this.steps.push({ name, step });
    return this;
  }

  listen(): this {
    process.once('SIGTERM', this.onSignal);
    process.once('SIGINT', this.onSignal);
    return this;
  }

  /** Runs every step once; later calls return the same promise. */
  run(reason: string): Promise<void> {
    if (this.running) return this.running;
    const { logger } = this.options;
    const timer = setTimeout(() => {
      logger.error({ reason }, 'shutdown timed out');
      this.exit(1);
    }, this.options.timeoutMs ?? 30_000);
    timer.unref();
    this.running = (async () => {
      logger.info({ reason }, 'shutting down');
      let failed = false;
      for (const { name, step } of [...this.steps].reverse()) {
        try {
          await step();
        } catch (err) {
          failed = true;
          logger.error({ err, step: name }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      process.removeListener('SIGTERM', this.onSignal);
      process.removeListener('SIGINT', this.onSignal);
      this.exit(failed ? 1 : 0);
    })();
    return this.running;
  }
}
