import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { runUntilSignal } from '../../processors/runtime/host';
import { isolatedHost } from '../../test/support/pipeline';

/** One processor of a chaos run in its own process (so it can be killed with -9): `worker.ts <run> <name>`. */
async function main(): Promise<void> {
  const [run, name] = process.argv.slice(2);
  if (!run || !name) throw new Error('usage: worker.ts <run> <processor>');
  const config = loadConfig({ LOG_LEVEL: 'error', ...process.env });
  const logger = createLogger(config, `chaos:${name}`);
  const host = isolatedHost(config, run, [name], logger);
  await runUntilSignal(host, config, logger); // starts the host (once: a second start doubled the consumers)
  process.stdout.write('started\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`chaos worker: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
