import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configKey, envSchema, loadConfig } from '../../../shared/config/index.js';
import type { Ladder, Plan, PriceBook } from '../../../shared/domain/index.js';

const README = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
const VARIABLES = Object.keys(envSchema.shape);
const DEFAULTS: Record<string, unknown> = envSchema.parse({});

interface Row {
  names: string[];
  /** The default cell, one entry per name (`1000 / 250 / 100000`, or one value for all). */
  defaults: string[];
}

/** The rows of the README's configuration table; a row with an empty default cell is a note on a variable listed elsewhere. */
function tableRows(): Row[] {
  const start = README.indexOf('## Configuration');
  const section = README.slice(start, README.indexOf('\n## ', start + 1));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [first = '', defaults = ''] = line
        .slice(1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim());
      const names = [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
      // `8589934592 (8 GiB)`, `1073741824 (1 GiB) each`: the figure is what the schema holds.
      const cell = defaults
        .replace(/`/g, '')
        .replace(/\s*\([^)]*\)/g, '')
        .replace(/\s+each$/, '');
      const values = names.length > 1 && cell.includes(' / ') ? cell.split(' / ') : names.map(() => cell);
      return { names, defaults: values };
    });
}

const usd = (micros: bigint): string => {
  const cents = (micros % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return cents === '' ? String(micros / 1_000_000n) : `${micros / 1_000_000n}.${cents}`;
};

/** A schema default as the README writes it. */
function asWritten(variable: string, value: unknown): string {
  if (value === undefined) return 'unset';
  if (variable === 'PLANS_JSON')
    return (value as readonly Plan[]).map((p) => `${p.id} ${usd(p.priceMicros)} USD/${p.vmCount} VMs/${p.periodDays} d`).join(', ');
  if (variable === 'LADDER_JSON') return (value as Ladder).steps.map((s) => `${s.tier} ×${s.multiplier.num}/${s.multiplier.den} at ${s.minDays} d`).join(', ');
  if (variable === 'PRICE_BOOK_JSON') {
    return Object.entries(value as PriceBook)
      .flatMap(([kind, price]) => (price ? [`${kind} ${price.priceMicros}/${price.per}`] : []))
      .join(', ');
  }
  return String(value);
}

describe('the README configuration table quotes the schema', () => {
  const rows = tableRows();

  it('has a row for every variable the schema reads, with a default', () => {
    const documented = new Set(rows.filter((r) => r.defaults.some((d) => d !== '')).flatMap((r) => r.names));
    expect(VARIABLES.filter((v) => !documented.has(v))).toEqual([]);
  });

  it('names only variables the schema reads', () => {
    expect(rows.flatMap((r) => r.names).filter((name) => !VARIABLES.includes(name))).toEqual([]);
  });

  it("writes each variable's default as the schema's", () => {
    const wrong = rows
      .filter((r) => r.defaults.some((d) => d !== ''))
      .flatMap((r) => r.names.map((name, i) => ({ name, readme: r.defaults[i], schema: asWritten(name, DEFAULTS[name]) })))
      .filter((d) => d.readme !== d.schema);
    expect(wrong).toEqual([]);
  });

  it("the parsed config holds each default under the variable's key", () => {
    const config = loadConfig({}) as unknown as Record<string, unknown>;
    for (const v of VARIABLES.filter((name) => DEFAULTS[name] !== undefined)) expect(config[configKey(v)], v).toEqual(DEFAULTS[v]);
    expect(configKey('BRIDGE_BATCH_SIZE')).toBe('bridgeBatchSize');
    expect(configKey('PLANS_JSON')).toBe('plans');
  });
});
