import fs from 'node:fs';
import path from 'node:path';
import { generateAsyncApi } from './asyncapi';
import { assembleAll, SCHEMAS_DIR, type AvroSchema, type EventSource } from './assemble';
import { piiLine, piiSummary } from './pii-docs';
import { plainType } from './pii';

/**
 * `npm run schemas:gen`: writes schemas/generated/events.ts (TypeScript types and the
 * assembled schemas), docs/events.md (the catalog for downstream consumers) and docs/asyncapi.yaml
 * (the same catalog as an AsyncAPI 3.0 document, for their tools).
 * With --check, fails when either file is stale instead of writing it.
 */

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const short = (name: string): string => name.slice(name.lastIndexOf('.') + 1);

class TsEmitter {
  private readonly decls = new Map<string, string>();

  type(node: AvroSchema): string {
    if (typeof node === 'string') {
      switch (node) {
        case 'null':
          return 'null';
        case 'boolean':
          return 'boolean';
        case 'int':
        case 'long':
        case 'float':
        case 'double':
          return 'number';
        case 'bytes':
          return 'Buffer';
        case 'string':
          return 'string';
        default:
          return short(node); // a named type declared at first use
      }
    }
    if (Array.isArray(node)) return node.map((n) => this.type(n)).join(' | ');
    const t = node.type as AvroSchema;
    const logical = node.logicalType;
    if (logical === 'timestamp-millis') return 'IsoInstant';
    if (logical === 'date') return 'IsoDate';
    if (logical === 'uuid') return 'string';
    if (t === 'array') return `Array<${this.type(node.items as AvroSchema)}>`;
    if (t === 'map') return `Record<string, ${this.type(node.values as AvroSchema)}>`;
    if (t === 'enum') {
      const name = String(node.name);
      if (!this.decls.has(name)) {
        const symbols = (node.symbols as string[]).map((s) => `'${s}'`).join(' | ');
        this.decls.set(
          name,
          `${jsdoc(node.doc, '')}export type ${name} = ${symbols};\nexport const ${name}Values = [${(node.symbols as string[]).map((s) => `'${s}'`).join(', ')}] as const;\n`,
        );
      }
      return name;
    }
    if (t === 'record') {
      const name = String(node.name);
      if (!this.decls.has(name)) {
        this.decls.set(name, ''); // reserve: records may be referenced before their body is done
        // A personal field is plaintext in the domain types: the codec maps it to and from EncryptedString.
        const fields = (node.fields as Obj[]).map(
          (f) =>
            `${jsdoc(fieldDoc(f), '  ')}  ${String(f.name)}: ${this.type(f.pii === true ? plainType(f.type as AvroSchema) : (f.type as AvroSchema))};`,
        );
        this.decls.set(name, `${jsdoc(node.doc, '')}export interface ${name} {\n${fields.join('\n')}\n}\n`);
      }
      return name;
    }
    return this.type(t);
  }

  declarations(): string {
    return [...this.decls.values()].join('\n');
  }
}

/** The first definition of a named record in a schema, depth first. */
function findRecord(node: unknown, name: string): Obj | undefined {
  if (Array.isArray(node)) return node.map((n) => findRecord(n, name)).find(Boolean);
  if (!isObj(node)) return undefined;
  if (node.type === 'record' && node.name === name) return node;
  return Object.values(node)
    .map((v) => findRecord(v, name))
    .find(Boolean);
}

/** A field's doc, plus its personal-data declaration so it shows where the field is used. */
function fieldDoc(f: Obj): unknown {
  if (f.pii !== true) return f.doc;
  const subject = typeof f.piiSubject === 'string' ? `, data subject ${f.piiSubject}` : '';
  return `${typeof f.doc === 'string' ? `${f.doc} ` : ''}Personal data (${String(f.piiCategory)}${subject}).`;
}

function jsdoc(doc: unknown, indent: string): string {
  return typeof doc === 'string' && doc ? `${indent}/** ${doc.replace(/\*\//g, '* /')} */\n` : '';
}

function payloadSchema(e: EventSource): Obj {
  const f = (e.schema.fields as Obj[]).find((x) => x.name === 'payload');
  if (!f || !isObj(f.type)) throw new Error(`${e.file}: no payload record`);
  return f.type;
}

export function generateTypes(events: EventSource[]): string {
  const ts = new TsEmitter();
  // Declared once for consumers that read records without key access (the wire form of a personal field).
  const encrypted = events.map((e) => findRecord(e.schema, 'EncryptedString')).find(Boolean);
  if (encrypted) ts.type(encrypted);
  const envelopeFields = (events[0]?.schema.fields as Obj[]).filter((f) => f.name !== 'payload');
  const envelopeLines = envelopeFields
    .filter((f) => f.name !== 'eventType')
    .map((f) => `${jsdoc(fieldDoc(f), '  ')}  ${String(f.name)}: ${ts.type(f.type as AvroSchema)};`);
  const payloads = events.map((e) => `  '${e.eventType}': ${ts.type(payloadSchema(e))};`);
  const defs = events.map(
    (e) =>
      `  '${e.eventType}': {\n    topic: '${e.topic}',\n    recordName: '${e.recordName}',\n    aggregateType: '${e.aggregateType}',\n    aggregateIdField: '${e.aggregateIdField}',\n    kind: '${e.kind}',\n    schema: ${JSON.stringify(e.schema)},\n  },`,
  );
  return `// Generated by schemas/tools/codegen.ts from schemas/**/*.avsc. Do not edit: run \`npm run schemas:gen\`.
/* eslint-disable */

/** ISO-8601 UTC instant, e.g. 2025-03-15T08:00:00.000Z (Avro long timestamp-millis on the wire). */
export type IsoInstant = string;
/** Calendar date, YYYY-MM-DD (Avro int date on the wire). */
export type IsoDate = string;

${ts.declarations()}
/** Envelope fields every event carries (DOMAIN.md). */
export interface EventEnvelope<T extends EventType = EventType> {
  /** Event type name; consumers dispatch on it. */
  eventType: T;
${envelopeLines.join('\n')}
}

/** Payload type of each event type. */
export interface EventPayloads {
${payloads.join('\n')}
}

export type EventType = keyof EventPayloads;

/** One event: envelope plus the payload of its type. A union over T, so a switch on eventType narrows the payload. */
export type SchoolEvent<T extends EventType = EventType> = { [K in T]: EventEnvelope<K> & { payload: EventPayloads[K] } }[T];

export interface EventDefinition {
  topic: string;
  recordName: string;
  aggregateType: string;
  aggregateIdField: string;
  kind: 'catalog' | 'saga' | 'compensation';
  schema: Record<string, unknown>;
}

export const EVENT_DEFINITIONS: { readonly [K in EventType]: EventDefinition & { aggregateIdField: keyof EventPayloads[K] & string } } = {
${defs.join('\n')}
};

export const EVENT_TYPES = Object.keys(EVENT_DEFINITIONS) as EventType[];
`;
}

function typeText(node: AvroSchema): string {
  if (typeof node === 'string') return node;
  if (Array.isArray(node)) return node.map(typeText).join(' \\| ');
  if (node.logicalType) return `${String(node.type)} (${node.logicalType as string})`;
  if (node.type === 'array') return `array<${typeText(node.items as AvroSchema)}>`;
  if (node.type === 'map') return `map<${typeText(node.values as AvroSchema)}>`;
  if (node.type === 'enum') return `enum ${String(node.name)} {${(node.symbols as string[]).join(', ')}}`;
  if (node.type === 'record') return `record ${String(node.name)}`;
  return typeText(node.type as AvroSchema);
}

function fieldRows(fields: Obj[], prefix: string): string[] {
  const rows: string[] = [];
  for (const f of fields) {
    const name = `${prefix}${String(f.name)}`;
    const type = f.type as AvroSchema;
    rows.push(`| \`${name}\` | ${typeText(type)} | ${(typeof f.doc === 'string' ? f.doc : '').replace(/\|/g, '\\|')} |`);
    const inner = Array.isArray(type) ? type.find(isObj) : type;
    const rec = isObj(inner) && inner.type === 'array' && isObj(inner.items) ? inner.items : inner;
    if (isObj(rec) && rec.type === 'record' && name !== 'metadata')
      rows.push(...fieldRows(rec.fields as Obj[], `${name}${rec === inner ? '' : '[]'}.`));
  }
  return rows;
}

export function generateDocs(events: EventSource[]): string {
  const envelope = (events[0]?.schema.fields as Obj[]).filter((f) => f.name !== 'payload');
  const meta = envelope.find((f) => f.name === 'metadata')?.type as Obj;
  const out: string[] = [
    '# Event catalog',
    '',
    'Generated from `schemas/` by `npm run schemas:gen`; do not edit by hand.',
    '',
    'Every record on our topics is Avro in the Confluent wire format (magic byte `0`, 4-byte big-endian schema id, Avro body).',
    'Point any Confluent-compatible deserializer at the schema registry and decode; nothing else is needed.',
    '',
    "- **Key**: the event's `aggregateId` as a UTF-8 string (saga events: the enrollment id), so one aggregate's events stay in order in one partition.",
    '- **Subjects**: record-name-per-topic, `<topic>-<fully.qualified.Record>`, compatibility BACKWARD.',
    '- **Headers**: `eventType`, `eventId`, `correlationId`, `content-type: application/vnd.school.event+avro`.',
    '- **Dispatch** on the envelope field `eventType`; several event types share a topic.',
    '- **Idempotency**: `eventId` is unique per event; derived events have deterministic ids, so a re-emitted one has the same id.',
    '- **Dead letters**: records that cannot be processed go to `<topic>.dlq` with the original bytes and headers.',
    '',
    '## Envelope (every event)',
    '',
    '| field | type | meaning |',
    '|---|---|---|',
    ...fieldRows(envelope, ''),
    ...fieldRows(meta.fields as Obj[], 'metadata.'),
    '',
    ...piiSummary(events),
  ];
  const topics = [...new Set(events.map((e) => e.topic))];
  for (const topic of topics) {
    out.push(`## Topic \`${topic}\``, '', '| event type | record | kind | key (aggregateId) |', '|---|---|---|---|');
    for (const e of events.filter((x) => x.topic === topic)) {
      out.push(
        `| [\`${e.eventType}\`](#${e.eventType.replace(/\./g, '')}) | \`${e.recordName}\` | ${e.kind} | payload \`${e.aggregateIdField}\` (${e.aggregateType}) |`,
      );
    }
    out.push('');
    for (const e of events.filter((x) => x.topic === topic)) {
      const p = payloadSchema(e);
      out.push(
        `### ${e.eventType}`,
        '',
        `${e.doc}`,
        '',
        `Topic \`${topic}\`, subject \`${topic}-${e.recordName}\`, key = payload \`${e.aggregateIdField}\`, aggregateType \`${e.aggregateType}\`.`,
        '',
        '| payload field | type | meaning |',
        '|---|---|---|',
        ...fieldRows(p.fields as Obj[], ''),
        '',
        ...piiLine(e),
      );
    }
  }
  return out.join('\n');
}

function main(): void {
  const check = process.argv.includes('--check');
  const events = assembleAll();
  const outputs: Array<[string, string]> = [
    [path.join(SCHEMAS_DIR, 'generated', 'events.ts'), generateTypes(events)],
    [path.join(SCHEMAS_DIR, '..', 'docs', 'events.md'), generateDocs(events)],
    [path.join(SCHEMAS_DIR, '..', 'docs', 'asyncapi.yaml'), generateAsyncApi(events)],
  ];
  let stale = false;
  for (const [file, content] of outputs) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current === content) continue;
    if (check) {
      process.stderr.write(`${path.relative(process.cwd(), file)} is stale: run npm run schemas:gen\n`);
      stale = true;
    } else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    }
  }
  if (stale) process.exit(1);
}

if (require.main === module) main();
