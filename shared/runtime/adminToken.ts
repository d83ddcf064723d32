import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** `DATA_DIR/admin-token`: the embedded default's admin token when ADMIN_TOKEN is unset. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * The local admin token of an embedded `tally up`: read from DATA_DIR, or generated (32
 * random bytes, base64url) and written with mode 600 so only this user can read it. Kept
 * across restarts, so a signed-in browser and scripts that read the file keep working.
 * Returns whether it was created now, so `tally up` can say so.
 */
export async function readOrCreateAdminToken(dataDir: string): Promise<{ token: string; path: string; created: boolean }> {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await readFile(path, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
  // A file shorter than the config's 16-character minimum is not ours (or was truncated): replace it.
  if (existing.length >= 16) {
    await chmod(path, 0o600);
    return { token: existing, path, created: false };
  }
  await mkdir(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file.
  await chmod(path, 0o600);
  return { token, path, created: true };
}
