import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError } from '../../shared/config/index.js';
import { registerPipelineCommands } from './commands/pipeline.js';
import { registerReadCommands } from './commands/read.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerQuoteCommand } from './commands/quoteCommand.js';
import { registerAccountsCommands } from './commands/accountsApi.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerLoadCommands } from './commands/load.js';
import { registerServiceCommands } from './commands/service.js';

/** The package's version: package.json is two folders up from the source, three from dist. */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tally' && pkg.version !== undefined) return pkg.version;
    } catch {
      // Not at this level.
    }
  }
  return 'unknown';
}

const program = new Command()
  .name('tally')
  .version(packageVersion(), '-V, --version')
  .description('Usage aggregator: NATS JetStream -> BullMQ -> MongoDB prepaid balances, exactly once')
  .showHelpAfterError();

registerPipelineCommands(program);
registerServiceCommands(program);
registerReadCommands(program);
registerDlqCommands(program);
registerQuoteCommand(program);
registerAccountsCommands(program);
registerKeyCommands(program);
registerLoadCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`tally: configuration error: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`tally: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
