/** E11000: the unique-key insert that every correctness property of the product rests on. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/** The write errors of an unordered insertMany, by document index; null when the error is not per document (the connection, the server). */
export function writeErrorsByIndex(err: unknown): Map<number, { code?: number | undefined; errmsg?: string | undefined }> | null {
  const writeErrors = (err as { writeErrors?: unknown } | null)?.writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : null;
  if (!list || list.length === 0) return null;
  const out = new Map<number, { code?: number | undefined; errmsg?: string | undefined }>();
  for (const we of list as { code?: number; index?: number; errmsg?: string; err?: { code?: number; index?: number; errmsg?: string } }[]) {
    const index = we.index ?? we.err?.index;
    if (index === undefined) return null;
    out.set(index, { code: we.code ?? we.err?.code, errmsg: we.errmsg ?? we.err?.errmsg });
  }
  return out;
}

/** The indexes of `insertMany(..., { ordered: false })` write errors that are duplicate keys; rethrows anything else. */
export function duplicateIndexes(err: unknown): Set<number> {
  const failed = writeErrorsByIndex(err);
  if (!failed || [...failed.values()].some((e) => e.code !== 11000)) throw err;
  return new Set(failed.keys());
}

/** `after` is not a cursor this store gave out (the `next` of a previous page). */
export class InvalidCursorError extends Error {}
