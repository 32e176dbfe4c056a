import { numberFlag, parseCli, runCli, UsageError } from '../lib/cli';
import { createKafka } from '../lib/clients/kafka';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { PROCESSOR_MANIFEST, PROCESSOR_NAMES } from '../processors/manifest';
import { endOffsetsOnce } from '../processors/runtime/end-offsets';
import { partitionLag } from '../processors/runtime/group-lag';

// Moved to processors/runtime/group-lag.ts (the API's ops endpoints read it too); re-exported for the scripts and tests.
export { groupLag, partitionLag, type ConsumerGroupRef, type PartitionLag } from '../processors/runtime/group-lag';

const HELP = `usage: npm run lag -- [--watch SECONDS] [--partitions] [processor…]

Consumer lag of each processor's group (records not yet consumed: end offsets minus committed offsets),
read from the broker (KAFKA_BROKERS). Default: every processor, once.
  --watch S       print again every S seconds until Ctrl-C
  --partitions    one line per topic and partition instead of one per processor`;

async function main(): Promise<void> {
  const { values, positionals } = parseCli({
    name: 'lag',
    help: HELP,
    allowPositionals: true,
    options: { watch: { type: 'string' }, partitions: { type: 'boolean', default: false } },
  });
  const every = numberFlag('watch', values.watch, 1);
  const unknown = positionals.filter((n) => !PROCESSOR_NAMES.includes(n));
  if (unknown.length) throw new UsageError(`unknown processor(s) ${unknown.join(', ')}; known: ${PROCESSOR_NAMES.join(', ')}`);
  const config = loadConfig({ LOG_LEVEL: 'error', ...process.env });
  const logger = createLogger(config, 'lag');
  const defs = PROCESSOR_MANIFEST.filter((d) => !positionals.length || positionals.includes(d.name));
  const admin = createKafka(config, logger).admin();
  await admin.connect();
  try {
    for (;;) {
      const lines: string[] = [];
      const endsOf = endOffsetsOnce(admin);
      for (const d of defs) {
        const rows = await partitionLag(admin, { name: d.name, groupId: d.name, topics: d.topics }, endsOf);
        if (values.partitions) for (const r of rows) lines.push(`${d.name.padEnd(14)} ${`${r.topic}[${r.partition}]`.padEnd(28)} ${r.lag}`);
        else lines.push(`${d.name.padEnd(14)} ${rows.reduce((n, r) => n + r.lag, 0)}`);
      }
      process.stdout.write(`${every ? `${new Date().toISOString()}\n` : ''}${lines.join('\n')}\n`);
      if (!every) return;
      await new Promise((r) => setTimeout(r, every * 1000));
    }
  } finally {
    await admin.disconnect();
  }
}

if (require.main === module) runCli('lag', main);
