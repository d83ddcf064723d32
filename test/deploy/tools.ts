import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, and what scripts/build-deploy-tools.sh installs under it. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHART = join(ROOT, 'deploy/helm/tally');
export const COMPOSE_DIR = join(ROOT, 'deploy/compose');
const HELM = join(ROOT, '.tools/bin/helm');
const CHECK = join(ROOT, '.tools/bin/tally-deploy-check');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function binary(path: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: run \`bash scripts/build-deploy-tools.sh\` (npm run test:deploy does)`);
  }
  return path;
}

function run(bin: string, args: readonly string[], input?: string): Run {
  const r = spawnSync(binary(bin), args, { cwd: ROOT, input, encoding: 'utf8', maxBuffer: 64 * 2 ** 20, timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const helm = (args: readonly string[]): Run => run(HELM, args);
export const check = (args: readonly string[], input?: string): Run => run(CHECK, args, input);

/** Fails with helm's own words when it does. */
function ok(r: Run, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * The Kubernetes version rendered for: that of the API types the checker decodes into
 * (k8s.io/api v0.37). A helm built by `go install` has no version stamped in by its
 * release ldflags and would assume v1.20, below the chart's kubeVersion.
 */
export const KUBE_VERSION = '1.37.0';

/** `helm template` of the chart with these extra arguments (-f FILE, --set K=V). */
export function render(args: readonly string[] = []): string {
  return ok(helm(['template', 'tally', CHART, '--namespace', 'tally', '--kube-version', KUBE_VERSION, ...args]), `helm template ${args.join(' ')}`);
}

/** A Kubernetes object as the checker decoded it (re-encoded from its Go type). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // The decoded spec: its shape is the kind's (k8s.io/api), read by the tests that know it.
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface K8sResult {
  objects: number;
  kinds: Record<string, number>;
  items: K8sObject[];
}

export function checkK8s(yaml: string): K8sResult {
  return JSON.parse(ok(check(['k8s', '--json'], yaml), 'tally-deploy-check k8s')) as K8sResult;
}

export interface ComposeService {
  image?: string;
  command?: string[];
  ports?: { target: number; published?: string; host_ip?: string; protocol?: string }[];
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string; required: boolean }>;
  deploy?: { replicas?: number };
  profiles?: string[];
}

export interface ComposeResult {
  name: string;
  profiles: string[];
  services: string[];
  disabledServices: string[];
  project: { name: string; services: Record<string, ComposeService> };
}

/**
 * An env file with every secret compose.cluster.yaml requires, written by the script
 * operators run (deploy/compose/secrets.sh), once per test process.
 */
let secretsFile: string | undefined;
export function composeSecrets(): string {
  if (secretsFile) return secretsFile;
  const file = join(mkdtempSync(join(tmpdir(), 'tally-compose-secrets-')), 'secrets.env');
  writeFileSync(file, execFileSync('sh', [join(COMPOSE_DIR, 'secrets.sh')], { encoding: 'utf8' }), { mode: 0o600 });
  return (secretsFile = file);
}

/** The arguments `docker compose` gets for the cluster file: the store's env file (`.env` or mongo.env), then the secrets. */
export function clusterArgs(storeEnv = '.env'): string[] {
  return ['--env-file', join(COMPOSE_DIR, storeEnv), '--env-file', composeSecrets(), join(COMPOSE_DIR, 'compose.cluster.yaml')];
}

export function checkCompose(args: readonly string[]): ComposeResult {
  return JSON.parse(ok(check(['compose', '--json', ...args]), `tally-deploy-check compose ${args.join(' ')}`)) as ComposeResult;
}

/** The environment variable names a container of a rendered chart gets: env, and the keys of the ConfigMaps and Secrets it takes whole. */
export function containerEnvNames(items: readonly K8sObject[]): Map<string, Set<string>> {
  const byName = (kind: string, name: string) => items.find((o) => o.kind === kind && o.metadata.name === name);
  const out = new Map<string, Set<string>>();
  for (const d of items.filter((o) => o.kind === 'Deployment')) {
    for (const c of d.spec.template.spec.containers as {
      name: string;
      env?: { name: string }[];
      envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
    }[]) {
      const names = new Set((c.env ?? []).map((e) => e.name));
      for (const from of c.envFrom ?? []) {
        const source = from.configMapRef ? byName('ConfigMap', from.configMapRef.name) : from.secretRef ? byName('Secret', from.secretRef.name) : undefined;
        for (const key of Object.keys({ ...source?.data, ...source?.stringData })) names.add(key);
      }
      out.set(`${d.metadata.name}/${c.name}`, names);
    }
  }
  return out;
}

/** The services of a compose project that run the tally image. */
export function tallyServices(result: ComposeResult): [string, ComposeService][] {
  return Object.entries(result.project.services).filter(([, s]) => /^tally(:|$)/.test(s.image ?? ''));
}
