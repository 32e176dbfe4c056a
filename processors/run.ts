import { loadConfigOrExit, type Config } from '../lib/config';
import { createPgPool } from '../lib/clients/pg';
import { createKafka } from '../lib/clients/kafka';
import { AppError, TopicConfigError } from '../lib/errors';
import { createLogger, type Logger } from '../lib/logger';
import { migrate } from '../lib/migrate';
import { parseCli, runCli, UsageError } from '../lib/cli';
import { createProcessors, PG_MIGRATIONS, PROCESSOR_NAMES } from './all';
import { ProcessorHost, runUntilSignal } from './runtime/host';
import { projectionSchema } from './runtime/names';

/** Applies the migrations of the given (default: all) Postgres projections into their live schemas. */
export async function migrateAll(config: Config, logger: Logger, names = Object.keys(PG_MIGRATIONS)): Promise<void> {
  const pool = createPgPool(config, {}, logger);
  try {
    for (const name of names.filter((n) => PG_MIGRATIONS[n])) {
      const applied = await migrate(pool, projectionSchema(name), PG_MIGRATIONS[name]!);
      logger.info('migrated', { projection: name, schema: projectionSchema(name), applied });
    }
  } finally {
    await pool.end();
  }
}

/** A processor started before its topics exist would crash inside kafkajs; say what to do instead. */
async function requireTopics(config: Config, logger: Logger, topics: string[]): Promise<void> {
  const admin = createKafka(config, logger).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length) throw new TopicConfigError(`topic(s) ${missing.join(', ')} do not exist; run npm run topics:apply first`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The processes' one entry point: `node dist/processors/run.js <name>` runs one processor (a deployment
 * each), `node dist/processors/run.js` all of them in one process. Migrates first, then serves until
 * SIGTERM/SIGINT. Processor modules never import this file: they are data (definitions), this runs them.
 */
export async function runMain(names: string[]): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, names.length === 1 ? `processor:${names[0]}` : 'processors');
  try {
    const all = createProcessors(config, logger);
    const unknown = names.filter((n) => !all.some((d) => d.name === n));
    if (unknown.length) throw new Error(`unknown processor(s) ${unknown.join(', ')}; known: ${all.map((d) => d.name).join(', ')}`);
    const defs = names.length ? all.filter((d) => names.includes(d.name)) : all;
    await requireTopics(config, logger, [...new Set(defs.flatMap((d) => d.topics))]);
    await migrateAll(
      config,
      logger,
      defs.map((d) => d.name),
    );
    await runUntilSignal(new ProcessorHost(defs, config, logger), config, logger);
  } catch (e) {
    logger.error('processor host failed to start', { error: e instanceof AppError ? e.message : e instanceof Error ? e.stack : String(e) });
    process.exit(1);
  }
}

const HELP = `usage: npm run processors -- [name…]      (built: node dist/processors/run.js [name…])

Runs the named processors (default all: ${PROCESSOR_NAMES.join(', ')}) in one process: checks their topics
exist, migrates their projections, then consumes until SIGTERM or SIGINT (graceful stop). Settings come from
the environment (see README, configuration).`;

if (require.main === module)
  runCli('processors', () => {
    const { positionals } = parseCli({ name: 'processors', help: HELP, options: {}, allowPositionals: true });
    const unknown = positionals.filter((n) => !PROCESSOR_NAMES.includes(n));
    if (unknown.length) throw new UsageError(`unknown processor(s) ${unknown.join(', ')}; known: ${PROCESSOR_NAMES.join(', ')}`);
    void runMain(positionals);
  });
