import { stringify } from 'yaml';
import { loadConfig } from '../../lib/config';
import { topicCatalog } from '../../topics/catalog';
import type { EventSource } from './assemble';

/** Kafka bindings of AsyncAPI 3.0 (https://github.com/asyncapi/bindings/tree/master/kafka). */
const KAFKA_BINDING = '0.5.0';
const AVRO = 'application/vnd.apache.avro;version=1.9.0';
/** Publisher's record content type (schemas/publisher.ts CONTENT_TYPE; not imported: the codegen runs before the generated types exist). */
const CONTENT_TYPE = 'application/vnd.school.event+avro';

const camel = (s: string): string => s.replace(/[.-](\w)/g, (_, c: string) => c.toUpperCase());

/**
 * The AsyncAPI 3.0 document of our topics, for downstream teams' tools (clients, docs, mocks): one channel per
 * domain topic (with its dead-letter topic's address in the description), one message per event type with its
 * full Avro schema (the record as written: envelope and payload), the record key, the headers and the Kafka
 * bindings (Confluent wire format: schema id in the payload; subjects by topic and record name). The
 * application described is the pipeline: it sends every event of its topics.
 */
export function generateAsyncApi(events: EventSource[]): string {
  const defaults = loadConfig({});
  const specs = new Map(topicCatalog(defaults).map((t) => [t.name, t]));
  const topics = [...new Set(events.map((e) => e.topic))];
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const topic of topics) {
    const spec = specs.get(topic)!;
    const own = events.filter((e) => e.topic === topic);
    const id = camel(topic);
    channels[id] = {
      address: topic,
      title: topic,
      description: `${spec.purpose}. Kept forever (the system of record). Records that cannot be processed go to \`${topic}.dlq\` with their original bytes and headers.`,
      messages: Object.fromEntries(own.map((e) => [camel(e.eventType), { $ref: `#/components/messages/${camel(e.eventType)}` }])),
      bindings: {
        kafka: {
          topic,
          partitions: spec.partitions,
          replicas: spec.replicationFactor,
          topicConfiguration: { 'cleanup.policy': ['delete'], 'retention.ms': Number(spec.config['retention.ms']) },
          bindingVersion: KAFKA_BINDING,
        },
      },
    };
    operations[`send${id[0]!.toUpperCase()}${id.slice(1)}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      summary: `The pipeline publishes the events of ${topic}.`,
      messages: own.map((e) => ({ $ref: `#/channels/${id}/messages/${camel(e.eventType)}` })),
    };
    for (const e of own)
      messages[camel(e.eventType)] = {
        name: e.eventType,
        title: e.eventType,
        summary: e.doc,
        contentType: CONTENT_TYPE,
        tags: [{ name: e.kind }, { name: e.aggregateType }],
        headers: {
          type: 'object',
          required: ['eventType', 'eventId', 'correlationId', 'content-type'],
          properties: {
            eventType: { type: 'string', const: e.eventType, description: 'Dispatch on this without decoding the value.' },
            eventId: { type: 'string', description: 'Unique per event; derived events have deterministic ids.' },
            correlationId: { type: 'string', description: 'Shared by every event of one business flow (an enrollment saga).' },
            causationId: { type: 'string', description: 'The eventId of the event that caused this one, when there is one.' },
            'content-type': { type: 'string', const: CONTENT_TYPE },
          },
        },
        payload: { schemaFormat: AVRO, schema: e.schema },
        bindings: {
          kafka: {
            key: { type: 'string', description: `aggregateId: the payload's ${e.aggregateIdField} (${e.aggregateType}), UTF-8` },
            schemaIdLocation: 'payload',
            schemaIdPayloadEncoding: 'confluent',
            schemaLookupStrategy: 'TopicRecordNameStrategy',
            bindingVersion: KAFKA_BINDING,
          },
        },
      };
  }
  const doc = {
    asyncapi: '3.0.0',
    info: {
      title: 'School events',
      version: '1.0.0',
      description: [
        'Enrollment and academic events of the school pipeline. Generated from `schemas/` and `topics/catalog.ts` by',
        '`npm run schemas:gen`; do not edit by hand (`docs/events.md` is the same catalog as prose).',
        '',
        'Every record is Avro in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro body):',
        'point any Confluent-compatible deserializer at the schema registry. Subjects are `<topic>-<record name>`.',
        "The key is the event's aggregateId, so one aggregate's events stay in order in one partition.",
      ].join('\n'),
    },
    defaultContentType: CONTENT_TYPE,
    servers: {
      local: {
        host: defaults.kafka.brokers[0],
        protocol: 'kafka',
        description: 'The local stack (npm run stack:up); production brokers come from configuration.',
        bindings: {
          kafka: { schemaRegistryUrl: defaults.registry.url, schemaRegistryVendor: 'apicurio', bindingVersion: KAFKA_BINDING },
        },
      },
    },
    channels,
    operations,
    components: { messages },
  };
  return `# Generated by npm run schemas:gen from schemas/ and topics/catalog.ts; do not edit by hand.\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
