import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium; scripts/ensure-chromium.sh installs it before `npm test`. */
export const CHROMIUM_PATH = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots land here; the folder is gitignored so CI can upload it as an artifact. */
export const ARTIFACTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

// Flags that keep a headless Chromium quiet and deterministic on a CI box without a GPU
// or a user namespace sandbox, and stop it phoning home (update, sync, field trials).
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Launches Chromium with a fresh profile, so one test's cookies never leak into another's.
 * Playwright's `launch` creates a new temporary --user-data-dir itself and removes it on
 * close (it refuses the flag in `args`; only launchPersistentContext takes a folder).
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: run scripts/ensure-chromium.sh (as root) or apt-get install -y chromium`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS });
}

/**
 * Saves a PNG as test/artifacts/<name>.png and returns its path: the full page, or only the
 * viewport (`fullPage: false`, e.g. for a modal dialog, whose backdrop covers the viewport).
 */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? true });
  return path;
}
