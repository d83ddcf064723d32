import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectBus } from '../../shared/bus/index.js';
import { freePort } from '../../shared/runtime/index.js';
import { ServerProcess } from '../../shared/runtime/serverProcess.js';
import { startNatsCluster, withIdentity, type NatsIdentity } from '../support/natsCluster.js';
import { CHART, COMPOSE_DIR, ROOT, check, checkCompose, checkK8s, clusterArgs, composeSecrets, helm, type ComposeResult } from './tools.js';

// SPEC 14 "Who may reach what", for what deploy/ ships: no NATS or Redis port on an
// outside interface, no compose start without the secrets, and NATS configurations that
// admit nobody without an identity and let a producer do nothing but publish usage.
const ENGINE_PORTS = new Set([4222, 6222, 8222, 6379, 26379]);
const LOOPBACK = new Set(['127.0.0.1', '::1']);

/** Every published NATS or Redis port not bound to loopback, as `service target -> host_ip:published`. */
function exposedEngines(result: ComposeResult): string[] {
  return Object.entries(result.project.services).flatMap(([name, s]) =>
    (s.ports ?? [])
      .filter((p) => /(^|\/)(nats|redis)[:@]/.test(s.image ?? '') || ENGINE_PORTS.has(p.target))
      .filter((p) => !LOOPBACK.has(p.host_ip ?? ''))
      .map((p) => `${name} ${p.target} -> ${p.host_ip || '*'}:${p.published}`),
  );
}

/** Collects the errors the server reports on `nc` (permission violations arrive this way). */
function serverErrors(nc: NatsConnection): string[] {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push((s as { error: Error }).error.message);
  })();
  return errors;
}

/**
 * What SPEC 14 asks of NATS, on running servers: no login without an identity (nor with a
 * wrong password); the services manage streams; the producer's JetStream publish on
 * `usage.>` lands in USAGE with its ack, and the producer can reach nothing else.
 */
async function expectIdentities(servers: string, services: NatsIdentity, producer: NatsIdentity, replicas: number): Promise<void> {
  await expect(connect({ servers: servers.split(','), reconnect: false })).rejects.toThrow(/Authorization Violation/i);
  await expect(connect({ servers: servers.split(','), user: producer.user, pass: `${producer.pass}x`, reconnect: false })).rejects.toThrow(
    /Authorization Violation/i,
  );
  const bus = await connectBus(withIdentity(servers, services), 'deploy-identities');
  const nc = await connect({ servers: servers.split(','), user: producer.user, pass: producer.pass, reconnect: false });
  try {
    await bus.jsm.streams.add({ name: 'USAGE', subjects: ['usage.>'], num_replicas: replicas });
    const errors = serverErrors(nc);
    const ack = await jetstream(nc).publish('usage.v1', '{}', { msgID: 'deploy-identities-1' });
    expect({ stream: ack.stream, seq: ack.seq }).toEqual({ stream: 'USAGE', seq: 1 });
    expect((await bus.jsm.streams.info('USAGE')).state.messages).toBe(1);
    await expect(nc.request('$JS.API.STREAM.INFO.USAGE', '', { timeout: 2000 })).rejects.toThrow(/Permissions Violation/);
    for (const subject of ['tally.ladder', 'billing.events.x', 'dlq.usage', '$JS.ACK.USAGE.x']) nc.publish(subject, '');
    for (const subject of ['usage.>', 'tally.>', '$JS.ACK.>', '>']) nc.subscribe(subject);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 300));
    expect(errors.sort()).toEqual(
      [
        'Permissions Violation for Publish to "$JS.ACK.USAGE.x"',
        'Permissions Violation for Publish to "$JS.API.STREAM.INFO.USAGE"',
        'Permissions Violation for Publish to "billing.events.x"',
        'Permissions Violation for Publish to "dlq.usage"',
        'Permissions Violation for Publish to "tally.ladder"',
        'Permissions Violation for Subscription to "$JS.ACK.>"',
        'Permissions Violation for Subscription to ">"',
        'Permissions Violation for Subscription to "tally.>"',
        'Permissions Violation for Subscription to "usage.>"',
      ].sort(),
    );
  } finally {
    await nc.close();
    await bus.close();
  }
}

/**
 * The nats.conf the official NATS chart writes from examples/nats.yaml's `config.merge`:
 * the values as JSON (through helm and the strict checker, no YAML parser of our own),
 * each `"<< $NAME >>"` written unquoted, i.e. as a variable the server reads from its
 * environment, which the example fills from `container.env`.
 */
function helmNatsAccounts(): { conf: string; env: string[] } {
  const chart = mkdtempSync(join(tmpdir(), 'tally-values-chart-'));
  mkdirSync(join(chart, 'templates'));
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: values\nversion: 0.0.0\n');
  writeFileSync(
    join(chart, 'templates/values.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values\ndata:\n  values.json: {{ .Values | toJson | quote }}\n',
  );
  try {
    const r = helm(['template', 'values', chart, '-f', join(CHART, 'examples/nats.yaml')]);
    expect(r.status, r.stderr).toBe(0);
    const values = JSON.parse(checkK8s(r.stdout).items[0]!.data!['values.json']!) as {
      config: { merge: unknown };
      container: { env: Record<string, unknown> };
    };
    return { conf: JSON.stringify(values.config.merge).replace(/"<< (\$\w+) >>"/g, '$1'), env: Object.keys(values.container.env) };
  } finally {
    rmSync(chart, { recursive: true, force: true });
  }
}

describe('who may reach the engines deploy/ ships (SPEC 14)', () => {
  it('no compose file publishes a NATS or Redis port on an outside interface (and the check sees one that does)', () => {
    const files = readdirSync(COMPOSE_DIR).filter((f) => /^compose.*\.yaml$/.test(f));
    expect(files.sort()).toEqual(['compose.cluster.yaml', 'compose.yaml']);
    const loads = [[join(COMPOSE_DIR, 'compose.yaml')], clusterArgs(), clusterArgs('mongo.env')];
    for (const args of loads) expect(exposedEngines(checkCompose(args)), args.join(' ')).toEqual([]);
    // Published for producers on loopback by default; the API stays published.
    const nats1 = checkCompose(clusterArgs()).project.services['nats-1']!;
    expect(nats1.ports).toEqual([expect.objectContaining({ target: 4222, host_ip: '127.0.0.1', published: '4222' })]);
    const dir = mkdtempSync(join(tmpdir(), 'tally-exposed-'));
    const bad = join(dir, 'compose.yaml');
    writeFileSync(
      bad,
      'services:\n  nats:\n    image: nats:2.15-alpine\n    ports: ["4222:4222"]\n  cache:\n    image: redis:7\n    ports: ["0.0.0.0:6379:6379"]\n',
    );
    expect(exposedEngines(checkCompose([bad]))).toEqual(['cache 6379 -> 0.0.0.0:6379', 'nats 4222 -> *:4222']);
  });

  it('compose.cluster.yaml does not load without its secrets: it names the way to make them', () => {
    const r = check(['compose', '--env-file', join(COMPOSE_DIR, '.env'), join(COMPOSE_DIR, 'compose.cluster.yaml')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/required variable \w+ is missing a value: run deploy\/compose\/secrets\.sh/);
    // secrets.sh: one fresh 48-hex-digit value for each variable the file requires.
    const lines = Object.fromEntries(
      readFileSync(composeSecrets(), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    expect(Object.keys(lines).sort()).toEqual([
      'ADMIN_TOKEN',
      'NATS_ROUTE_PASSWORD',
      'POSTGRES_PASSWORD',
      'PRODUCER_NATS_PASSWORD',
      'REDIS_PASSWORD',
      'REDIS_SENTINEL_PASSWORD',
      'TALLY_NATS_PASSWORD',
      'WEBHOOK_SECRET',
    ]);
    for (const v of Object.values(lines)) expect(v).toMatch(/^[0-9a-f]{48}$/);
  });

  it('deploy/compose/nats.conf, three routed nodes: no identity no login; the producer publishes usage with acks and reaches nothing else', async () => {
    const nats = await startNatsCluster(3);
    try {
      await expectIdentities(nats.url, nats.services, nats.producer, 3);
    } finally {
      await nats.close();
    }
  }, 120_000);

  it('the Helm NATS example (examples/nats.yaml) holds the same accounts, with the same outcome', async () => {
    const { conf, env } = helmNatsAccounts();
    expect(env.sort()).toEqual(['PRODUCER_NATS_PASSWORD', 'TALLY_NATS_PASSWORD']);
    const dir = mkdtempSync(join(tmpdir(), 'tally-helm-nats-'));
    writeFileSync(join(dir, 'nats.conf'), conf);
    const services = { user: 'tally', pass: randomBytes(12).toString('hex') };
    const producer = { user: 'producer', pass: randomBytes(12).toString('hex') };
    const [port, monitor] = [await freePort(), await freePort()];
    const server = new ServerProcess(
      {
        name: 'nats',
        binary: join(ROOT, '.tools/bin/nats-server'),
        dataPath: join(dir, 'js'),
        logFile: join(dir, 'nats.log'),
        env: { TALLY_NATS_PASSWORD: services.pass, PRODUCER_NATS_PASSWORD: producer.pass },
        args: ['-c', join(dir, 'nats.conf'), '-js', '-sd', join(dir, 'js'), '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)],
        probe: async () => {
          if (!(await fetch(`http://127.0.0.1:${monitor}/healthz`)).ok) throw new Error('not healthy');
        },
      },
      pino({ level: 'silent' }),
    );
    await server.start();
    try {
      await expectIdentities(`nats://127.0.0.1:${port}`, services, producer, 1);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
