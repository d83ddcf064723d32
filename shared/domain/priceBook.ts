/** The price book: what each kind costs (SPEC 4, PRICE_BOOK_JSON of SPEC 12). */
import { invalid, join, objectAt } from './configJson.js';
import { parseMicros } from './money.js';
import type { Kind, Price, PriceBook } from './types.js';

export type { PriceBook } from './types.js';

/** Kinds the book may price; `other` is always priced by the producer (cost_micros). */
const PRICEABLE = ['vm_hour', 'llm_token', 'hero_os_hour'] as const satisfies readonly Kind[];

/**
 * Defaults. `vm_hour`: the basic plan's per-VM cost (10 USD / 5 VMs = 2 USD) spread over
 * its 30-day period, 2,000,000 micros per 720 hours, kept as that exact ratio rather than
 * a rounded hourly price. `llm_token`: SPEC 4's example. `hero_os_hour`: 0.02 USD an hour,
 * our choice (the seed gives no Hero OS price).
 */
export const DEFAULT_PRICE_BOOK: PriceBook = Object.freeze({
  vm_hour: { priceMicros: 2_000_000n, per: 720n },
  llm_token: { priceMicros: 150_000n, per: 1_000_000n },
  hero_os_hour: { priceMicros: 20_000n, per: 1n },
  other: undefined,
});

function parsePrice(x: unknown, path: string): Price {
  const entry = objectAt(x, path, ['price_micros', 'per']);
  const priceMicros = parseMicros(entry['price_micros']);
  if (priceMicros === null) invalid(join(path, 'price_micros'), 'must be an integer >= 0 (micros)');
  const per = parseMicros(entry['per']);
  if (per === null || per === 0n) invalid(join(path, 'per'), 'must be an integer >= 1');
  return { priceMicros, per };
}

/**
 * Validates PRICE_BOOK_JSON, `{"<kind>": {"price_micros": int, "per": int}, ...}`. The
 * configured book replaces the defaults rather than merging into them: a kind left out
 * is unpriced, so nothing is ever billed at a price the operator did not write down.
 */
export function parsePriceBook(json: unknown): PriceBook {
  const doc = objectAt(json, '', PRICEABLE);
  const book: Record<Kind, Price | undefined> = {
    vm_hour: undefined,
    llm_token: undefined,
    hero_os_hour: undefined,
    other: undefined,
  };
  for (const kind of PRICEABLE) {
    if (doc[kind] !== undefined) book[kind] = parsePrice(doc[kind], kind);
  }
  return Object.freeze(book);
}
