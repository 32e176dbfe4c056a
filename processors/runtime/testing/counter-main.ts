import { loadConfig } from '../../../lib/config';
import { createPgPool } from '../../../lib/clients/pg';
import { createLogger } from '../../../lib/logger';
import { EVENT_DEFINITIONS } from '../../../schemas/generated/events';
import { ProcessorHost, runUntilSignal } from '../host';
import { createCounterTable, mongoCounter, mongoFoldCounter, pgCounter } from './counter';

/**
 * A counter processor as its own process, for the crash and signal tests:
 * COUNTER_STORE=pg|mongo|mongo-fold COUNTER_TOPIC=… COUNTER_NAME=… COUNTER_SCHEMA=… COUNTER_MONGO_DB=… COUNTER_SLOW_MS=…
 * COUNTER_DERIVE_TO=<topic> (pg: one derived event per applied event, published to that topic).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'counter');
  const env = (k: string): string => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is required`);
    return v;
  };
  const name = env('COUNTER_NAME');
  const topic = env('COUNTER_TOPIC');
  const slow = Number(process.env.COUNTER_SLOW_MS ?? 0);
  const deriveTo = process.env.COUNTER_DERIVE_TO;
  const store = env('COUNTER_STORE');
  const def =
    store === 'pg'
      ? pgCounter(name, topic, slow, true, !!deriveTo)
      : store === 'mongo-fold'
        ? mongoFoldCounter(name, topic, slow)
        : mongoCounter(name, topic, slow);
  const alerts = EVENT_DEFINITIONS['attendance.pattern.alert'].topic;
  if (def.store === 'postgres') {
    const pool = createPgPool(config);
    await createCounterTable(pool, env('COUNTER_SCHEMA'));
    await pool.end();
  }
  const host = new ProcessorHost([def], config, logger, {
    opsPort: 0,
    pgSchema: () => env('COUNTER_SCHEMA'),
    mongoDb: () => process.env.COUNTER_MONGO_DB ?? config.mongo.db,
    topicName: (t) => (deriveTo && t === alerts ? deriveTo : t),
  });
  await runUntilSignal(host, config, logger);
  process.stdout.write(`ready ${host.port}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`counter: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
