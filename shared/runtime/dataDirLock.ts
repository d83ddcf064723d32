import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { EmbeddedError } from './errors.js';
import { commandLineOf, environOf, isAlive, isSameProcess, startTimeOf } from './processInfo.js';
import type { ServerName } from './serverProcess.js';

export const PIDS_FILE = 'pids.json';

/** Set in every server's environment to the data folder it serves, so a leftover can be recognised as ours. */
export const DATA_DIR_ENV = 'TALLY_EMBEDDED_DATA_DIR';

const pidsSchema = z.object({
  owner: z.number().int(),
  ownerStart: z.string().optional(),
  startedAt: z.string(),
  children: z.record(z.string(), z.number().int()),
});

export type PidsFile = z.infer<typeof pidsSchema>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Ownership of a data folder by one live process, recorded in `DATA/pids.json` together
 * with the pids of the servers it spawned. Created with O_EXCL, so of two `tally up` on
 * one folder the second is refused with the first one's pid (we refuse rather than reuse:
 * the servers' lifetime belongs to the process that started them). A file left by a
 * crashed owner is taken over after its servers are stopped: they would otherwise hold the
 * folder's JetStream store and AOF, and their ports.
 */
export class DataDirLock {
  private constructor(
    private readonly path: string,
    private readonly content: PidsFile,
  ) {}

  static async acquire(dataDir: string, logger: Logger): Promise<DataDirLock> {
    const path = join(dataDir, PIDS_FILE);
    const content: PidsFile = { owner: process.pid, startedAt: new Date().toISOString(), children: {} };
    const ownerStart = startTimeOf(process.pid);
    if (ownerStart !== undefined) content.ownerStart = ownerStart;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await writeFile(path, `${JSON.stringify(content)}\n`, { flag: 'wx' });
        return new DataDirLock(path, content);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const previous = await readPids(path);
      if (previous && isSameProcess(previous.owner, previous.ownerStart)) {
        throw new EmbeddedError(
          'embedded_busy',
          `${dataDir} is in use by tally pid ${previous.owner} (started ${previous.startedAt}); stop it, or use another DATA_DIR`,
        );
      }
      await stopLeftovers(dataDir, previous, logger);
      // Renamed, not unlinked, so a post-mortem can still see what was there.
      await rename(path, `${path}.stale`).catch(() => {});
    }
    throw new EmbeddedError('embedded_busy', `could not take ${path}: another process keeps creating it`);
  }

  /** Records the servers' current pids (after a start or a restart). */
  async record(children: Partial<Record<ServerName, number | undefined>>): Promise<void> {
    this.content.children = Object.fromEntries(Object.entries(children).filter(([, pid]) => pid !== undefined)) as Record<string, number>;
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(this.content)}\n`);
    await rename(tmp, this.path);
  }

  async release(): Promise<void> {
    await unlink(this.path).catch(() => {});
  }
}

/** Reads pids.json; a file caught half-written by a racing starter is retried briefly. */
async function readPids(path: string): Promise<PidsFile | undefined> {
  for (let i = 0; i < 5; i++) {
    try {
      return pidsSchema.parse(JSON.parse(await readFile(path, 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      await sleep(100);
    }
  }
  return undefined;
}

/** True when the process's environment marks it as serving `dataDir`; undefined when that cannot be read. */
function servesDataDir(pid: number, dataDir: string): boolean | undefined {
  const environ = environOf(pid);
  if (environ === undefined) return commandLineOf(pid)?.includes(dataDir);
  return environ.includes(`${DATA_DIR_ENV}=${dataDir}`);
}

/**
 * Stops servers a crashed owner left running (possible where `setpriv` is missing, or if
 * the owner died while spawning). A pid only counts as ours when its environment names
 * this data folder, so a recycled pid is never killed; where that cannot be read we
 * refuse instead of guessing.
 */
async function stopLeftovers(dataDir: string, previous: PidsFile | undefined, logger: Logger): Promise<void> {
  const live = Object.entries(previous?.children ?? {}).filter(([, pid]) => isAlive(pid));
  const ours: number[] = [];
  for (const [name, pid] of live) {
    const serves = servesDataDir(pid, dataDir);
    if (serves === undefined) {
      throw new EmbeddedError(
        'embedded_busy',
        `${dataDir}: ${name} pid ${pid} from a previous run may still be running; stop it and remove ${join(dataDir, PIDS_FILE)}`,
      );
    }
    if (serves) ours.push(pid);
  }
  if (ours.length === 0) return;
  logger.warn({ dataDir, pids: ours, previousOwner: previous?.owner }, 'stopping servers left by a previous run that crashed');
  for (const pid of ours) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (ours.some(isAlive) && Date.now() < deadline) await sleep(50);
  for (const pid of ours.filter(isAlive)) process.kill(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (ours.some(isAlive) && Date.now() < killDeadline) await sleep(20);
}
