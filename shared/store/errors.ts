/** E11000: the unique-key insert that every correctness property of the product rests on. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/** The indexes of `insertMany(..., { ordered: false })` write errors that are duplicate keys; rethrows anything else. */
export function duplicateIndexes(err: unknown): Set<number> {
  const writeErrors = (err as { writeErrors?: unknown } | null)?.writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : null;
  if (!list) throw err;
  const out = new Set<number>();
  for (const we of list as { code?: number; index?: number; err?: { code?: number; index?: number } }[]) {
    const code = we.code ?? we.err?.code;
    const index = we.index ?? we.err?.index;
    if (code !== 11000 || index === undefined) throw err;
    out.add(index);
  }
  return out;
}
