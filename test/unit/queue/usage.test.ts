import { describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../../shared/domain/index.js';
import { fromWire, toWire } from '../../../shared/queue/index.js';

const record: UsageRecord = {
  id: 'r1',
  accountId: 'acct-1',
  kind: 'vm_hour',
  quantity: 2_500_000n,
  appliesTo: 'hero_os_hourly',
  occurredAt: 1_764_547_200_000,
  costMicros: null,
  meta: null,
};

describe('the usage job contract', () => {
  it('carries a record to the shard owner unchanged, with its publish time and stream sequence', () => {
    const wire = toWire(record, 1_764_547_201_000, 42);
    expect(wire).toEqual(['r1', 'acct-1', 'vm_hour', '2500000', 'hero_os_hourly', 1_764_547_200_000, null, 1_764_547_201_000, 42]);
    expect(fromWire(JSON.parse(JSON.stringify(wire)))).toEqual(record);
  });

  it('keeps an explicit cost beyond 2^53 exact (decimal strings: job data is JSON)', () => {
    const costly = { ...record, costMicros: 9_007_199_254_740_993n };
    expect(fromWire(JSON.parse(JSON.stringify(toWire(costly, 0, 1))))).toEqual(costly);
  });
});
