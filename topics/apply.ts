import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/clients/kafka';
import { AppError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { topicCatalog } from './catalog';
import { applyTopics } from './provision';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'topics:apply');
  const admin = createKafka(config, logger).admin();
  await admin.connect();
  try {
    const changes = await applyTopics(admin, topicCatalog(config));
    for (const c of changes)
      process.stdout.write(`${c.topic.padEnd(28)} ${c.action}${'changed' in c ? ` ${JSON.stringify(c.changed)}` : ''}\n`);
  } finally {
    await admin.disconnect();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`topics:apply: ${e instanceof AppError ? e.message : String((e as Error).stack ?? e)}\n`);
  process.exit(1);
});
