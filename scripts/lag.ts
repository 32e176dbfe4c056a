import type { Admin } from 'kafkajs';
import { numberFlag, parseCli, runCli, UsageError } from '../lib/cli';
import { createKafka } from '../lib/clients/kafka';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createProcessors, PROCESSOR_NAMES } from '../processors/all';
import { endOffsetsOnce, type PartitionEnds } from '../processors/runtime/end-offsets';

export interface ConsumerGroupRef {
  name: string;
  groupId: string;
  topics: readonly string[];
}

/** Records not yet consumed by each group over its topics (committed offsets vs end offsets), by name. */
export async function groupLag(admin: Admin, groups: ConsumerGroupRef[]): Promise<Record<string, number>> {
  const endsOf = endOffsetsOnce(admin);
  const out: Record<string, number> = {};
  for (const g of groups) out[g.name] = (await partitionLag(admin, g, endsOf)).reduce((n, r) => n + r.lag, 0);
  return out;
}

/** One group's lag per topic and partition (committed offset vs end offset; no commit yet counts from the start). */
export async function partitionLag(
  admin: Admin,
  group: ConsumerGroupRef,
  endsOf: (topic: string) => Promise<PartitionEnds[]> = endOffsetsOnce(admin),
): Promise<Array<{ topic: string; partition: number; lag: number }>> {
  const committed = await admin.fetchOffsets({ groupId: group.groupId, topics: [...group.topics] });
  const rows: Array<{ topic: string; partition: number; lag: number }> = [];
  for (const t of committed) {
    const ends = new Map((await endsOf(t.topic)).map((p) => [p.partition, p.high]));
    for (const p of t.partitions)
      rows.push({ topic: t.topic, partition: p.partition, lag: Math.max(0, (ends.get(p.partition) ?? 0) - Math.max(0, Number(p.offset))) });
  }
  return rows;
}

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
  const defs = createProcessors(config, logger).filter((d) => !positionals.length || positionals.includes(d.name));
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
