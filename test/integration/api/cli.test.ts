import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

async function tally(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', ...args], {
      cwd: REPO,
      env: { ...process.env, PLANS_JSON: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `tally plans validate` (SPEC 10, 13): no servers needed. */
describe('tally plans validate', () => {
  it('prints the default plans with their per-VM audit cost', async () => {
    const out = await tally(['plans', 'validate']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      valid: true,
      source: 'default',
      plans: [
        { id: 'basic', price_micros: 10_000_000, vm_count: 5, period_days: 30, per_vm_audit_cost_micros: 2_000_000 },
        { id: 'pro', price_micros: 20_000_000, vm_count: 10, period_days: 30, per_vm_audit_cost_micros: 2_000_000 },
      ],
    });
  });

  it('exits 1 naming the offending value of a bad PLANS_JSON', async () => {
    const out = await tally(['plans', 'validate'], { PLANS_JSON: '[{"id": "x", "price_micros": 1, "vm_count": 0, "period_days": 30}]' });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('PLANS_JSON is invalid: [0].vm_count must be an integer in 1..10000');
    expect((await tally(['plans', 'validate'], { PLANS_JSON: '[{"id": "a", "price_micros": 1.5, "vm_count": 1, "period_days": 1}]' })).code).toBe(1);
    expect((await tally(['plans', 'validate'], { PLANS_JSON: 'not json' })).code).toBe(1);
  });
});
