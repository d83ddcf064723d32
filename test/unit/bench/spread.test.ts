import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/index.js';
import { StreamGenerator } from '../../../services/cli/load/generate.js';
import { expectedStreams, HORIZON_MARGIN_MS, spreadSpan } from '../../bench/harness.js';

const config = loadConfig({});
const NOW = Date.UTC(2026, 11, 7, 20, 0, 0);
const stream = (span: { spanSeconds?: number; days?: number }) => [
  ...new StreamGenerator({ records: 4000, accounts: 200, seed: 3, now: NOW, badRate: 0, dupRate: 0, ...span }).lines(),
];

describe('the bench judges a 35-day stream as the pipeline did (issue 29)', () => {
  it('a stream spread over the whole horizon is charged alike at its own now and up to the margin later', () => {
    const lines = stream(spreadSpan(35, config.lateArrivalDays));
    const atPublish = expectedStreams(config, [{ lines, now: NOW }]);
    const minutesLater = expectedStreams(config, [{ lines, now: NOW + HORIZON_MARGIN_MS - 60_000 }]);
    expect(atPublish.unique).toBe(lines.length);
    expect(minutesLater.unique).toBe(lines.length);
    expect(minutesLater.balances).toEqual(atPublish.balances);
  });

  it('the span it replaced put records on the horizon: judged half an hour on (the phases of a bench), the expectation drops records a bridge charged at once', () => {
    const lines = stream({ spanSeconds: 35 * 86_400, days: 0 });
    const charged = expectedStreams(config, [{ lines, now: NOW }]).unique;
    expect(expectedStreams(config, [{ lines, now: NOW + 1_800_000 }]).unique).toBeLessThan(charged);
  });

  it('each stream is judged at its own now, and the balances add up per account', () => {
    const early = stream(spreadSpan(35, config.lateArrivalDays));
    const late = [...new StreamGenerator({ records: 100, accounts: 200, seed: 4, now: NOW + 86_400_000, days: 0, idPrefix: 'lat' }).lines()];
    const both = expectedStreams(config, [
      { lines: early, now: NOW },
      { lines: late, now: NOW + 86_400_000 },
    ]);
    // At the early stream's now the later one would be `occurred_in_future`.
    expect(expectedStreams(config, [{ lines: late, now: NOW }]).unique).toBe(0);
    expect(both.unique).toBe(early.length + late.length);
  });

  it('a short spread keeps its late records inside the horizon as before', () => {
    expect(spreadSpan(0, 35)).toEqual({});
    expect(spreadSpan(20, 35)).toEqual({ spanSeconds: 20 * 86_400, days: 14 });
  });
});
