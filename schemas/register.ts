import { COMPATIBILITY, SchemaType } from '@kafkajs/confluent-schema-registry';
import { loadConfig } from '../lib/config';
import { createSchemaRegistry } from '../lib/clients/registry';
import { EVENT_DEFINITIONS, EVENT_TYPES } from './generated/events';
import { subjectOf } from './subjects';

/** `npm run schemas:register`: registers every event schema under its subject, BACKWARD; idempotent. */
export async function registerAll(registryUrl: string): Promise<Array<{ subject: string; id: number }>> {
  const registry = createSchemaRegistry({ registry: { url: registryUrl } });
  const out: Array<{ subject: string; id: number }> = [];
  for (const t of EVENT_TYPES) {
    const subject = subjectOf(t);
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(EVENT_DEFINITIONS[t].schema) },
      { subject, compatibility: COMPATIBILITY.BACKWARD },
    );
    out.push({ subject, id });
  }
  return out;
}

if (require.main === module) {
  registerAll(loadConfig().registry.url)
    .then((rows) => {
      for (const r of rows) process.stdout.write(`${r.subject.padEnd(90)} id ${r.id}\n`);
      process.stdout.write(`${rows.length} subjects registered\n`);
    })
    .catch((e: unknown) => {
      process.stderr.write(`schemas:register: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    });
}
