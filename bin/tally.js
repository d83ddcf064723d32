#!/usr/bin/env node
// The `tally` command: runs the compiled CLI (built by `npm ci`/`npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/services/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('tally: not built yet; run `npm ci` (or `npm run build`) in the repository first');
  process.exit(2);
}
await import(main);
