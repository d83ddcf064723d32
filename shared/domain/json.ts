/** A parsed JSON object, its fields not yet checked. */
export type Json = Record<string, unknown>;

/** Whether a value JSON.parse returned is an object (not an array, not null): the one test the product uses. */
export function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
