import type { Db, Document, OptionalUnlessRequiredId } from 'mongodb';

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

/**
 * The one atomic primitive every guarantee of the product rests on (SPEC 11 "What is
 * atomic"): insert a document under a deterministic `_id`. `inserted`: this call wrote it;
 * `exists`: a document with that key was already there, and nothing changed.
 */
export async function insertUnique<T extends Document>(db: Db, collection: string, doc: OptionalUnlessRequiredId<T>): Promise<'inserted' | 'exists'> {
  try {
    await db.collection<T>(collection).insertOne(doc);
    return 'inserted';
  } catch (err) {
    if (isDuplicateKey(err)) return 'exists';
    throw err;
  }
}

/** `after` is not a cursor this store gave out (the `next` of a previous page). */
export class InvalidCursorError extends Error {}
