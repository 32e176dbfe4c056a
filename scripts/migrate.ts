import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { migrateAll } from '../processors/run';

/** `npm run migrate`: applies every Postgres projection's versioned migrations. */
const config = loadConfig();
migrateAll(config, createLogger(config, 'migrate')).catch((e: unknown) => {
  process.stderr.write(`migrate: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
