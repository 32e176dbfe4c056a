import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { runUntilSignal } from '../../processors/runtime/host';
import { isolatedHost } from './pipeline';

/**
 * One processor of an isolated run in its own process (so it can be killed with -9, or run apart from the
 * others as in production): `worker.ts <run> <name>`. Prints "started" on stdout once it consumes.
 */
async function main(): Promise<void> {
  const [run, name] = process.argv.slice(2);
  if (!run || !name) throw new Error('usage: worker.ts <run> <processor>');
  const config = loadConfig({ LOG_LEVEL: 'error', ...process.env });
  const logger = createLogger(config, `worker:${name}`);
  const host = isolatedHost(config, run, [name], logger);
  await runUntilSignal(host, config, logger); // starts the host (once: a second start doubled the consumers)
  process.stdout.write('started\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`processor worker: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
