import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/clients/kafka';
import { AppError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { status, up } from '../deploy/local/stack';
import { topicCatalog } from '../topics/catalog';
import { applyTopics } from '../topics/provision';

/** The README's main command. Today: stack up, topics applied, status printed. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'demo');
  const say = (m: string): void => void process.stdout.write(`${m}\n`);
  say('== starting the local stack');
  await up(config);
  say('== applying topics');
  const admin = createKafka(config, logger).admin();
  await admin.connect();
  try {
    for (const c of await applyTopics(admin, topicCatalog(config))) say(`${c.topic.padEnd(28)} ${c.action}`);
  } finally {
    await admin.disconnect();
  }
  say('== status');
  await status(config);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo: ${e instanceof AppError ? e.message : String((e as Error).stack ?? e)}\n`);
  process.exit(1);
});
