import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../../shared/config/index.js';
import { apiEnv, call, configOf, pay, startStack } from '../../support/api.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** `tally keys create|list|revoke` and `tally allocations`, against a running API on the same store and Redis. */
describe('tally keys and tally allocations', () => {
  const servers = inject('servers');
  let env: Record<string, string>;
  let config: Config;
  let stack: Awaited<ReturnType<typeof startStack>>;

  const tally = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', ...args], {
      cwd: REPO,
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    });
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  beforeAll(async () => {
    env = apiEnv(servers);
    config = configOf(servers, env);
    stack = await startStack(config, servers);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('creates a key (shown once), lists ids and times, and revokes it at once for the running API', async () => {
    const [created] = await tally('keys', 'create', 'acct-cli');
    expect(created).toMatchObject({ account_id: 'acct-cli', key_id: expect.stringMatching(/^[0-9a-f]{16}$/), key: expect.stringMatching(/^tk_/) });
    const key = created!['key'] as string;
    expect((await call(stack.url, 'GET', '/v1/accounts/acct-cli', { token: key })).body.error.code).toBe('account_not_found');
    const listed = await tally('keys', 'list', 'acct-cli');
    expect(listed).toEqual([{ key_id: created!['key_id'], created_at: created!['created_at'] }]);
    const [revoked] = await tally('keys', 'revoke', 'acct-cli', created!['key_id'] as string);
    expect(revoked).toMatchObject({ key_id: created!['key_id'], revoked: true });
    expect((await call(stack.url, 'GET', '/v1/accounts/acct-cli', { token: key })).body.error.code).toBe('unauthorized');
    await expect(tally('keys', 'revoke', 'acct-other', created!['key_id'] as string)).rejects.toThrow(/has no key/);
  });

  it('creates, lists and revokes producer keys (tp_, no account), refused on read routes', async () => {
    const [created] = await tally('keys', 'create', '--producer');
    expect(created).toMatchObject({ producer: true, key: expect.stringMatching(/^tp_/) });
    expect((await call(stack.url, 'GET', '/v1/accounts/acct-cli', { token: created!['key'] as string })).status).toBe(403);
    expect(await tally('keys', 'list', '--producer')).toEqual([{ key_id: created!['key_id'], created_at: created!['created_at'] }]);
    expect((await tally('keys', 'revoke', '--producer', created!['key_id'] as string))[0]).toMatchObject({ producer: true, revoked: true });
    expect(await tally('keys', 'list', '--producer')).toEqual([]);
    await expect(tally('keys', 'create', 'acct-cli', '--producer')).rejects.toThrow(/belong to no account/);
  });

  it('tally adjust credits and debits once per --id, with its reason, and refuses a zero or unbounded amount', async () => {
    await pay(stack.url, { payment_id: 'p-adj', account_id: 'acct-adj', amount_micros: 1_000_000, paid_at: '2026-01-01T00:00:00Z' });
    const [credit] = await tally('adjust', 'acct-adj', '2500000', '--reason', 'support ticket 12', '--id', 'cli-1');
    expect(credit).toMatchObject({
      adjustment_id: 'cli-1',
      amount_micros: 2_500_000,
      reason: 'support ticket 12',
      by: 'cli',
      duplicate: false,
      balance_micros: 3_500_000,
    });
    const [again] = await tally('adjust', 'acct-adj', '2500000', '--reason', 'support ticket 12', '--id', 'cli-1');
    expect(again).toMatchObject({ duplicate: true, balance_micros: 3_500_000 });
    const [debit] = await tally('adjust', 'acct-adj', '-500000', '--reason', 'correction');
    expect(debit).toMatchObject({ amount_micros: -500_000, balance_micros: 3_000_000 });
    for (const amount of ['0', '9223372036854775808', '1.5'])
      await expect(tally('adjust', 'acct-adj', amount, '--reason', 'r')).rejects.toThrow(/non-zero whole number/);
    await expect(tally('adjust', 'acct-adj', '1', '--reason', 'other', '--id', 'cli-1')).rejects.toThrow(/conflict|different/);
  });

  it('prints allocations as NDJSON, of one account or all', async () => {
    for (const id of ['acct-al1', 'acct-al2']) {
      await pay(stack.url, { payment_id: `p-${id}`, account_id: id, amount_micros: 10_000_000, paid_at: '2026-01-01T00:00:00Z' });
      expect((await call(stack.url, 'POST', `/v1/accounts/${id}/plan`, { body: { plan_id: 'basic' } })).status).toBe(201);
      expect((await call(stack.url, 'POST', `/v1/accounts/${id}/vms`)).status).toBe(201);
    }
    expect((await call(stack.url, 'POST', '/v1/accounts/acct-al1/vms')).status).toBe(201);
    const one = await tally('allocations', '--account', 'acct-al1');
    expect(one.map((a) => [a['account_id'], a['plan_id'], a['slot'], a['status'], a['audit_cost_micros']])).toEqual([
      ['acct-al1', 'basic', 1, 'active', 2_000_000],
      ['acct-al1', 'basic', 2, 'active', 2_000_000],
    ]);
    expect((await tally('allocations')).map((a) => a['account_id'])).toEqual(['acct-al1', 'acct-al1', 'acct-al2']);
  });
});
