/**
 * Small readers shared by the config parsers: each throws `config_invalid` with a message
 * that starts with the JSON path of the offending value, so the operator can find it.
 */
import { TallyError } from './errors.js';
import { isObject, type Json } from './json.js';

export function invalid(path: string, rule: string): never {
  throw new TallyError('config_invalid', `${path || 'value'} ${rule}`);
}

export function objectAt(x: unknown, path: string, allowed: readonly string[]): Json {
  if (!isObject(x)) invalid(path, 'must be an object');
  const unknownKey = Object.keys(x).find((k) => !allowed.includes(k));
  if (unknownKey !== undefined) invalid(join(path, unknownKey), `is not a known field (expected ${allowed.join(', ')})`);
  return x as Json;
}

export function arrayAt(x: unknown, path: string): unknown[] {
  if (!Array.isArray(x)) invalid(path, 'must be an array');
  return x;
}

export function intAt(x: unknown, path: string, min: number, max: number): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    invalid(path, `must be an integer in ${min}..${max}`);
  }
  return x;
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}
