import { describe, expect, it } from 'vitest';
import { serveMetrics } from '../../../shared/runtime/index.js';

// The bare listener `tally worker|bridge|scheduler` open on METRICS_PORT: a loopback socket
// in this process, no server of the pipeline. Kubernetes probes and compose healthchecks
// of those roles (deploy/helm, deploy/compose) call these paths.
describe('serveMetrics: the METRICS_PORT listener', () => {
  it('answers /healthz and /readyz besides /metrics, and 404 anything else', async () => {
    const server = await serveMetrics(0, '127.0.0.1');
    const base = server.url.replace(/\/metrics$/, '');
    try {
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${base}/readyz?verbose=1`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
      const metrics = await fetch(server.url);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('tally_records_charged_total');
      expect((await fetch(`${base}/other`)).status).toBe(404);
      expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
