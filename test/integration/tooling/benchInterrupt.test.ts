import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../bench/harness.js';

/** The pids under `root` (its children, theirs, ...), from /proc. */
async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) if (parent === pid) (out.push(child), walk(child));
  };
  walk(root);
  return out;
}

/** Running: present and not a zombie (a killed child nobody has reaped yet is gone for this purpose). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

describe('a bench interrupted', () => {
  it('leaves no service and no server running after SIGTERM', async () => {
    const logDir = await mkdtemp(join(tmpdir(), 'tally-bench-int-'));
    const bench = spawn(process.execPath, ['--import', 'tsx', 'test/bench/webhooks.ts', '--ledger-entries', '0', '--webhooks', '1000000', '--purchases', '0'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_LOG_DIR: logDir },
      stdio: 'ignore',
    });
    try {
      // The API is listening (it starts last), so webhooks are flowing through every process.
      await expect
        .poll(async () => (await readFile(join(logDir, 'api-2.log'), 'utf8').catch(() => '')).includes('api listening'), { timeout: 60_000, interval: 200 })
        .toBe(true);
      const pids = await descendants(bench.pid!);
      // Three services and three servers at least (nats-server, redis-server, FerretDB).
      expect(pids.length).toBeGreaterThanOrEqual(6);
      const exited = once(bench, 'exit');
      bench.kill('SIGTERM');
      expect((await exited)[0]).toBe(143);
      await expect.poll(async () => (await Promise.all(pids.map(alive))).filter(Boolean).length, { timeout: 15_000, interval: 200 }).toBe(0);
    } finally {
      if (bench.exitCode === null) bench.kill('SIGKILL');
      await rm(logDir, { recursive: true, force: true });
    }
  }, 90_000);
});
