import { describe, expect, it } from 'vitest';
import { CHART, KUBE_VERSION, check, checkK8s, helm, render, type K8sObject } from './tools.js';

// The chart through real helm v3.22 and the strict checker (deploy/check): every rendered
// object must decode into its Kubernetes API type with no unknown field, and the objects
// must reference each other correctly (selectors, named ports, the HPA's target).
const PRODUCTION = ['-f', `${CHART}/examples/production.yaml`];
const ROLES = ['api', 'bridge', 'scheduler', 'worker'];

const deployment = (items: readonly K8sObject[], role: string) => {
  const d = items.find((o) => o.kind === 'Deployment' && o.metadata.name === `tally-${role}`);
  if (!d) throw new Error(`no Deployment tally-${role}`);
  return d;
};

describe('helm chart deploy/helm/tally', () => {
  it('passes helm lint, also --strict (warnings fail)', () => {
    for (const args of [
      ['lint', CHART],
      ['lint', '--strict', CHART],
      ['lint', '--strict', CHART, ...PRODUCTION],
    ]) {
      const r = helm(args);
      expect(r.stderr + r.stdout, args.join(' ')).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(r.status).toBe(0);
    }
  });

  it('renders, with default values, objects that all decode strictly: one Deployment per role, the API Service, metrics Services, PDBs', () => {
    const result = checkK8s(render());
    expect(result.kinds).toEqual({ ConfigMap: 1, Secret: 1, ServiceAccount: 1, Deployment: 4, Service: 4, PodDisruptionBudget: 3 });
    const replicas = Object.fromEntries(ROLES.map((r) => [r, deployment(result.items, r).spec.replicas]));
    expect(replicas).toEqual({ api: 2, bridge: 2, scheduler: 1, worker: 2 });
  });

  it('probes /healthz (liveness, startup) and /readyz (readiness) on the port each role serves them on', () => {
    const { items } = checkK8s(render());
    for (const role of ROLES) {
      const [c] = deployment(items, role).spec.template.spec.containers;
      const port = role === 'api' ? 'http' : 'metrics';
      expect(c.args, role).toEqual([role]);
      expect(c.livenessProbe.httpGet, role).toEqual({ path: '/healthz', port });
      expect(c.startupProbe.httpGet, role).toEqual({ path: '/healthz', port });
      expect(c.readinessProbe.httpGet, role).toEqual({ path: '/readyz', port });
      const env = Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
      expect(env, role).toEqual(role === 'api' ? { HTTP_PORT: '8080' } : { METRICS_PORT: '9464' });
      expect(c.resources.requests, role).toBeDefined();
      expect(c.securityContext, role).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(deployment(items, role).spec.template.spec.securityContext, role).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    }
  });

  it('renders every optional feature (HPA, ServiceMonitor, Ingress, extra env and volumes) and the objects decode strictly', () => {
    const result = checkK8s(render(PRODUCTION));
    // Its secrets come from the Secret it names (existingSecret): the chart renders none.
    expect(result.kinds).toEqual({
      ConfigMap: 1,
      ServiceAccount: 1,
      Deployment: 4,
      Service: 4,
      PodDisruptionBudget: 3,
      HorizontalPodAutoscaler: 1,
      ServiceMonitor: 1,
      Ingress: 1,
    });
    for (const role of ROLES)
      expect(deployment(result.items, role).spec.template.spec.containers[0].envFrom, role).toContainEqual({ secretRef: { name: 'tally-secrets' } });
    const hpa = result.items.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 16, scaleTargetRef: { kind: 'Deployment', name: 'tally-worker' } });
    // The HPA owns the workers' count: the Deployment leaves replicas unset.
    expect(deployment(result.items, 'worker').spec.replicas).toBeUndefined();
    const monitor = result.items.find((o) => o.kind === 'ServiceMonitor')!;
    expect(monitor.spec.endpoints.map((e: { port: string }) => e.port)).toEqual(['http', 'metrics']);
  });

  it('with existingSecret renders no Secret and every role reads the named one', () => {
    const { kinds, items } = checkK8s(render(['--set', 'existingSecret=tally-secrets']));
    expect(kinds.Secret).toBeUndefined();
    for (const role of ROLES) {
      const [c] = deployment(items, role).spec.template.spec.containers;
      expect(c.envFrom).toContainEqual({ secretRef: { name: 'tally-secrets' } });
    }
  });

  it('refuses to render without a server URL (neither in secrets nor through existingSecret)', () => {
    const r = helm(['template', 'tally', CHART, '--kube-version', KUBE_VERSION, '--set', 'secrets.MONGO_URL=']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('secrets.MONGO_URL is required');
  });
});

describe('tally-deploy-check k8s is strict', () => {
  const good = render();

  it('fails on a field the type does not have', () => {
    const broken = good.replace('revisionHistoryLimit: 5', 'revisionHistoryLimit: 5\n  replicaz: 3');
    expect(broken).not.toBe(good);
    const r = check(['k8s'], broken);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown field "spec.replicaz"/);
  });

  it('fails on a kind it does not know, and on a key given twice', () => {
    const unknownKind = check(['k8s'], `${good}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n`);
    expect(unknownKind.status).toBe(1);
    expect(unknownKind.stderr).toContain('unknown kind example.com/v1 Widget');
    const twice = check(['k8s'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n');
    expect(twice.status).toBe(1);
    expect(twice.stderr).toMatch(/already (set|defined)|duplicate/i);
  });

  it('fails when a probe or a Service names a port no container declares', () => {
    const r = check(['k8s'], good.replace('path: /readyz, port: metrics', 'path: /readyz, port: metricz'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('readiness probe port "metricz" is not a container port');
  });

  it('prints a one-line summary by kind', () => {
    const r = check(['k8s'], good);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('k8s: 14 objects: ConfigMap 1, Deployment 4, PodDisruptionBudget 3, Secret 1, Service 4, ServiceAccount 1');
  });
});
