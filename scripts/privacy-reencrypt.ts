import { parseCli, runCli, UsageError } from '../lib/cli';
import { createKafka } from '../lib/clients/kafka';
import { createPgPool } from '../lib/clients/pg';
import { createSchemaRegistry } from '../lib/clients/registry';
import { loadConfigOrExit } from '../lib/config';
import { createLogger } from '../lib/logger';
import { openKeyStore } from '../lib/privacy';
import { progressPrinter } from '../processors/replay/progress';
import { reencryptTopic } from '../processors/replay/reencrypt';
import { EventCodec } from '../schemas/codec';
import { createEventProducer } from '../schemas/publisher';

const HELP = `usage: npm run privacy:reencrypt -- --from <topic> --to <topic>

Copies a topic written before PRIVACY_ENCRYPT into a new one with every personal field encrypted under its
person's data key (an erased person's as the marker), partition by partition, in order, with each record's
key, headers and timestamp. What is already encrypted is copied as it is; a record that does not decode is
copied byte for byte and counted. Resumable: run it again and it skips what the target holds.
  --from TOPIC   the topic to copy (what it holds when the copy starts)
  --to TOPIC     the copy (created like the source when missing; nothing else may write to it)
Migration steps (docs/decisions.md, "Re-encrypting topics written in plaintext").`;

/** `npm run privacy:reencrypt`: the migration path of plaintext topics (issue 21, processors/replay/reencrypt.ts). */
runCli('privacy:reencrypt', async () => {
  const { values } = parseCli({ name: 'privacy:reencrypt', help: HELP, options: { from: { type: 'string' }, to: { type: 'string' } } });
  const from = values.from?.trim();
  const to = values.to?.trim();
  if (!from || !to) throw new UsageError('give --from <topic> and --to <topic>');
  if (from === to) throw new UsageError('--to must differ from --from (a topic cannot be rewritten in place)');
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'reencrypt');
  const pool = createPgPool(config, { max: 2 });
  const kafka = createKafka(config);
  const admin = kafka.admin();
  const producer = createEventProducer(kafka);
  const progress = progressPrinter(from);
  try {
    const store = await openKeyStore(config, pool);
    // No decryptor: what is encrypted stays sealed as it is; the encryptor seals what is not.
    const codec = new EventCodec(createSchemaRegistry(config), { encryptor: store });
    await admin.connect();
    await producer.connect();
    const t0 = Date.now();
    const r = await reencryptTopic({
      from,
      to,
      codec,
      kafka,
      admin,
      producer,
      logger,
      onProgress: progress.print,
    });
    progress.end();
    process.stdout.write(
      `${from} → ${to} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${r.rewritten} re-encoded (personal fields sealed or schema upgraded), ${r.unchanged} unchanged, ${r.raw} undecodable copied as they are, ${r.skipped} copied by an earlier run\n`,
    );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
    await pool.end();
  }
});
