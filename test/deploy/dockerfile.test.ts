import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './tools.js';

// No image can be built here (nothing can be pulled): the Dockerfile's structure is
// checked instead, instruction by instruction, and each COPY source against the tree and
// .dockerignore.
interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string;
  instructions: Instruction[];
}

function parse(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [, from = '', name = ''] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      stages.push({ from, name, instructions: [] });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [k = '', v = ''] = rest.split('=');
      args[k] = v;
    } else {
      stages.at(-1)?.instructions.push({ op: upper, args: rest.replace(/\s+/g, ' ') });
    }
  }
  return { args, stages };
}

const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
const { args, stages } = parse(dockerfile);
const stage = (name: string) => stages.find((s) => s.name === name)!;
const last = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).at(-1)?.args;
/** What a stage inherits from the stage it is built on: the instruction's last value. */
function effective(name: string, op: string): string | undefined {
  const s = stage(name);
  return last(s, op) ?? (stages.some((p) => p.name === s.from) ? effective(s.from, op) : undefined);
}

describe('deploy/Dockerfile', () => {
  it('is multi-stage on Node 24 slim: build, prod-deps, servers, base, allinone, and runtime last (the default target)', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'prod-deps', 'servers', 'base', 'allinone', 'runtime']);
    expect(args.NODE_IMAGE).toBe('node:24-slim');
    for (const name of ['build', 'prod-deps', 'base']) expect(stage(name).from, name).toBe('${NODE_IMAGE}');
    expect(stage('allinone').from).toBe('base');
    expect(stage('runtime').from).toBe('base');
  });

  it('installs without lifecycle scripts (`prepare` would build the embedded servers) and compiles with tsc', () => {
    const runs = (name: string) =>
      stage(name)
        .instructions.filter((i) => i.op === 'RUN')
        .map((i) => i.args);
    expect(runs('build')).toContain('npm ci --ignore-scripts --no-audit --no-fund');
    expect(runs('build')).toContain('npx tsc -p tsconfig.build.json');
    expect(runs('prod-deps').join(' ')).toContain('npm ci --omit=dev --ignore-scripts');
  });

  it('runs as a non-root numeric user, `tally` as entrypoint, a /healthz healthcheck, port 8080 on every interface', () => {
    for (const target of ['runtime', 'allinone']) {
      const user = effective(target, 'USER') ?? 'root';
      expect(user, target).toMatch(/^[1-9]\d*(:\d+)?$/);
      expect(effective(target, 'ENTRYPOINT'), target).toBe('["tally"]');
      expect(effective(target, 'HEALTHCHECK'), target).toMatch(/CMD \["node", "-e", ".*\/healthz.*"\]/);
      expect(effective(target, 'EXPOSE'), target).toBe('8080');
    }
    expect(last(stage('base'), 'ENV')).toContain('HTTP_HOST=0.0.0.0');
    expect(last(stage('runtime'), 'CMD')).toBe('["api"]');
    expect(last(stage('allinone'), 'CMD')).toBe('["up"]');
  });

  it('builds the embedded servers at the versions scripts/build-servers.sh pins, for allinone only', () => {
    const pinned = /NATS_VERSION="(v[\d.]+)"/.exec(readFileSync(join(ROOT, 'scripts/build-servers.sh'), 'utf8'))?.[1];
    expect(last(stage('servers'), 'ARG')).toBe(`NATS_VERSION=${pinned}`);
    expect(stage('allinone').instructions.some((i) => i.op === 'COPY' && i.args.startsWith('--from=servers'))).toBe(true);
    expect(stage('runtime').instructions.some((i) => i.args.includes('--from=servers'))).toBe(false);
  });

  it('copies only what exists and what .dockerignore lets into the context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(' ').slice(0, -1));
    expect(sources).toContain('services/api/operator/assets');
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), src).toBe(true);
      expect(
        ignore.some((allowed) => src === allowed || src.startsWith(`${allowed}/`)),
        `${src} is let in by .dockerignore`,
      ).toBe(true);
    }
  });
});
