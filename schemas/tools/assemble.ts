import fs from 'node:fs';
import path from 'node:path';

/**
 * Build-time: turns the schema sources into self-contained Avro schemas.
 * Sources keep shared parts once (schemas/common: the envelope, metadata, shared
 * enums); each event file holds only its payload. The assembled schema is
 * envelope fields + payload with every shared named type inlined at first use,
 * so a stock Confluent client needs nothing but the registry to decode it.
 */

export type AvroSchema = string | AvroSchema[] | { [k: string]: unknown };

export interface EventSource {
  file: string;
  topic: string;
  eventType: string;
  recordName: string; // fully qualified
  aggregateType: string;
  aggregateIdField: string;
  kind: 'catalog' | 'saga' | 'compensation';
  doc: string;
  schema: Record<string, unknown>; // assembled, without our x- annotations
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

export const SCHEMAS_DIR = path.resolve(__dirname, '..');

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

/** Inlines named types from the library the first time they are referenced. */
function inline(node: AvroSchema, ns: string | undefined, library: Map<string, Record<string, unknown>>, defined: Set<string>): AvroSchema {
  if (typeof node === 'string') {
    if (PRIMITIVES.has(node)) return node;
    const name = fullName(node, ns);
    if (defined.has(name)) return name;
    const def = library.get(name) ?? library.get(node);
    if (!def) throw new Error(`unknown named type ${node} (looked for ${name} in schemas/common)`);
    return inline(structuredClone(def), ns, library, defined);
  }
  if (Array.isArray(node)) return node.map((n) => inline(n, ns, library, defined));
  const out: Record<string, unknown> = { ...node };
  const t = node.type;
  if ((t === 'record' || t === 'enum' || t === 'fixed') && typeof node.name === 'string') {
    const own = typeof node.namespace === 'string' ? node.namespace : ns;
    const name = fullName(node.name, own);
    defined.add(name);
    if (t === 'record') {
      const innerNs = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : own;
      out.fields = (node.fields as Array<Record<string, unknown>>).map((f) => ({
        ...f,
        type: inline(f.type as AvroSchema, innerNs, library, defined),
      }));
    }
    return out;
  }
  if (t === 'array') out.items = inline(node.items as AvroSchema, ns, library, defined);
  else if (t === 'map') out.values = inline(node.values as AvroSchema, ns, library, defined);
  else if (typeof t === 'object' || (typeof t === 'string' && !PRIMITIVES.has(t))) out.type = inline(t as AvroSchema, ns, library, defined);
  return out;
}

export function loadLibrary(dir = SCHEMAS_DIR): { envelope: Record<string, unknown>; library: Map<string, Record<string, unknown>> } {
  const commonDir = path.join(dir, 'common');
  const library = new Map<string, Record<string, unknown>>();
  let envelope: Record<string, unknown> | undefined;
  for (const f of fs
    .readdirSync(commonDir)
    .filter((x) => x.endsWith('.avsc'))
    .sort()) {
    const s = readJson(path.join(commonDir, f));
    if (s.name === 'EventEnvelope') envelope = s;
    else library.set(fullName(String(s.name), s.namespace as string | undefined), s);
  }
  if (!envelope) throw new Error('schemas/common/EventEnvelope.avsc is missing');
  return { envelope, library };
}

export function assembleAll(dir = SCHEMAS_DIR): EventSource[] {
  const { envelope, library } = loadLibrary(dir);
  const out: EventSource[] = [];
  const topics = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.endsWith('-events'))
    .map((d) => d.name)
    .sort();
  for (const topic of topics) {
    for (const f of fs
      .readdirSync(path.join(dir, topic))
      .filter((x) => x.endsWith('.avsc'))
      .sort()) {
      const file = path.join(dir, topic, f);
      const src = readJson(file);
      if (src['x-topic'] !== topic) throw new Error(`${file}: x-topic ${String(src['x-topic'])} does not match its folder ${topic}`);
      const namespace = String(src.namespace);
      const defined = new Set<string>();
      const fields = [...(envelope.fields as unknown[]), ...(src.fields as unknown[])] as Array<Record<string, unknown>>;
      const record = { type: 'record', name: src.name, namespace, doc: src.doc, fields };
      const schema = inline(record, namespace, library, defined) as Record<string, unknown>;
      out.push({
        file: path.relative(dir, file),
        topic,
        eventType: String(src['x-eventType']),
        recordName: `${namespace}.${String(src.name)}`,
        aggregateType: String(src['x-aggregateType']),
        aggregateIdField: String(src['x-aggregateIdField']),
        kind: src['x-kind'] as EventSource['kind'],
        doc: String(src.doc),
        schema,
      });
    }
  }
  const seen = new Set<string>();
  for (const e of out) {
    if (seen.has(e.eventType)) throw new Error(`event type ${e.eventType} is defined twice`);
    seen.add(e.eventType);
  }
  return out;
}
