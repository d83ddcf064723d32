/**
 * FerretDB on the PostgreSQL backend over a private PostgreSQL cluster (SPEC 11, issue 18):
 * `initdb` into a temporary folder, `pg_ctl start` on a free loopback port with its socket
 * in that folder, a `ferretdb` database, then `tally-ferretdb -handler postgresql` on a
 * free port. PostgreSQL refuses to run as root: as root, every PostgreSQL command runs as
 * the `postgres` user (`runuser -u postgres --`), which owns the folder.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chown, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../shared/runtime/index.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const PG_BIN = process.env['TALLY_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';
const HOST = '127.0.0.1';

export interface PostgresFerret {
  /** FerretDB's MongoDB URL. */
  mongoUrl: string;
  /** The PostgreSQL URL FerretDB stores into. */
  postgresUrl: string;
  dataDir: string;
  ferretdb: ChildProcess;
  /** Stops FerretDB, then PostgreSQL (`pg_ctl stop -m fast`), and removes the folder. */
  close(): Promise<void>;
}

/** As root, the `postgres` user runs PostgreSQL's commands. */
async function pgUser(): Promise<{ uid: number; gid: number; prefix: string[] } | null> {
  if (userInfo().uid !== 0) return null;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(gid.trim()), prefix: ['runuser', '-u', 'postgres', '--'] };
}

export async function startPostgresFerret(options: { ferretBinary?: string } = {}): Promise<PostgresFerret> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tally-pg-'));
  const user = await pgUser();
  if (user) await chown(dataDir, user.uid, user.gid);
  const pg = (cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> => {
    const argv = [...(user?.prefix ?? []), join(PG_BIN, cmd), ...args];
    return run(argv[0]!, argv.slice(1), { maxBuffer: 1 << 24 });
  };
  const pgData = join(dataDir, 'data');
  const port = await freePort(HOST);
  let pgStarted = false;
  let ferretdb: ChildProcess | undefined;
  const close = async (): Promise<void> => {
    if (ferretdb && ferretdb.exitCode === null && ferretdb.signalCode === null) {
      const exited = once(ferretdb, 'exit');
      ferretdb.kill('SIGTERM');
      const timer = setTimeout(() => ferretdb?.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    if (pgStarted) await pg('pg_ctl', ['-D', pgData, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    process.removeListener('exit', onExit);
    await rm(dataDir, { recursive: true, force: true });
  };
  const onExit = (): void => {
    ferretdb?.kill('SIGKILL');
  };
  process.on('exit', onExit);
  try {
    await pg('initdb', ['-D', pgData, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    // The socket lives in the folder: no clash with a system PostgreSQL's /var/run/postgresql.
    await pg('pg_ctl', [
      '-D',
      pgData,
      '-l',
      join(dataDir, 'postgres.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dataDir} -c listen_addresses=${HOST} -c max_connections=200 -c fsync=on`,
      'start',
    ]);
    pgStarted = true;
    await pg('createdb', ['-h', HOST, '-p', String(port), '-U', 'postgres', 'ferretdb']);
    const postgresUrl = `postgres://postgres@${HOST}:${port}/ferretdb`;
    const binary = options.ferretBinary ?? join(ROOT, '.tools/bin/tally-ferretdb');
    const log = await open(join(dataDir, 'ferretdb.log'), 'a');
    const child = spawn(binary, ['-handler', 'postgresql', '-postgresql-url', postgresUrl, '-listen-addr', `${HOST}:0`], { stdio: ['ignore', 'pipe', log.fd] });
    ferretdb = child;
    await log.close();
    const mongoUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`FerretDB did not print ready in 60 s (log ${join(dataDir, 'ferretdb.log')})`)), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^ready (\S+)/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`FerretDB exited (code ${code}) before it was ready (log ${join(dataDir, 'ferretdb.log')})`));
      });
    });
    return { mongoUrl, postgresUrl, dataDir, ferretdb: child, close };
  } catch (err) {
    await close();
    throw err;
  }
}
