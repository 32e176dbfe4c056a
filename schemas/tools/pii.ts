import type { AvroSchema, EventSource } from './assemble';

/**
 * Personal-data declarations in the contracts (issue 21 item 1). A field holding personal data carries
 * `"pii": true`, a `"piiCategory"` and, where the payload names the person, `"piiSubject"`: the sibling field
 * holding the user id of the person the value describes (whose data key will encrypt it, and whose erasure
 * shreds it). Custom properties are ignored by Avro readers, so declaring them never changes a type.
 */

export const PII_CATEGORIES = ['identity', 'contact', 'free-text'] as const;
export type PiiCategory = (typeof PII_CATEGORIES)[number];

export interface SchemaField {
  /** Dotted path from the event record, e.g. `payload.firstName`, `metadata.ipAddress`, `payload.periods[].name`. */
  path: string;
  /** Short name of the record that declares the field, e.g. `UserCreatedPayload`. */
  record: string;
  name: string;
  /** The field's Avro type with null unions, arrays and maps unwrapped to what one value is. */
  valueType: AvroSchema;
  decl: Record<string, unknown>;
}

export interface PiiField {
  path: string;
  record: string;
  name: string;
  category: PiiCategory;
  /** Sibling field naming the person; undefined when the payload does not carry it (said in the field's doc). */
  subject: string | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const short = (name: string): string => name.slice(name.lastIndexOf('.') + 1);

/** What one value of a field is: nullable unions, arrays and maps unwrapped; named references resolved. */
function valueOf(t: AvroSchema, named: Map<string, Obj>): AvroSchema {
  if (Array.isArray(t)) {
    const rest = t.filter((x) => x !== 'null');
    return rest.length === 1 ? valueOf(rest[0]!, named) : t;
  }
  if (typeof t === 'string') return named.get(short(t)) ?? t;
  if (t.type === 'array') return valueOf(t.items as AvroSchema, named);
  if (t.type === 'map') return valueOf(t.values as AvroSchema, named);
  if (isObj(t.type) || Array.isArray(t.type)) return valueOf(t.type as AvroSchema, named);
  return t;
}

/** Every field of an event record, depth first; a named record referenced again is walked at each use. */
export function schemaFields(schema: Obj): SchemaField[] {
  const named = new Map<string, Obj>();
  const collect = (t: unknown): void => {
    if (Array.isArray(t)) t.forEach(collect);
    else if (isObj(t)) {
      if ((t.type === 'record' || t.type === 'enum') && typeof t.name === 'string') named.set(short(t.name), t);
      for (const v of Object.values(t)) collect(v);
    }
  };
  collect(schema);
  const out: SchemaField[] = [];
  const walk = (rec: Obj, prefix: string, seen: Set<string>): void => {
    for (const f of (rec.fields as Obj[] | undefined) ?? []) {
      const raw = f.type as AvroSchema;
      const multi = isObj(raw) && (raw.type === 'array' || raw.type === 'map');
      const path = `${prefix}${String(f.name)}${multi ? '[]' : ''}`;
      const valueType = valueOf(raw, named);
      out.push({ path, record: short(String(rec.name)), name: String(f.name), valueType, decl: f });
      if (isObj(valueType) && valueType.type === 'record' && !seen.has(String(valueType.name)))
        walk(valueType, `${path}.`, new Set([...seen, String(valueType.name)]));
    }
  };
  walk(schema, '', new Set([String(schema.name)]));
  return out;
}

/** The data subject's path beside the field, e.g. `payload.userId` for `payload.firstName`. */
export function subjectPath(f: Pick<PiiField, 'path' | 'subject'>): string | undefined {
  if (f.subject === undefined) return undefined;
  const dot = f.path.lastIndexOf('.');
  return dot < 0 ? f.subject : `${f.path.slice(0, dot + 1)}${f.subject}`;
}

const isStringValued = (t: AvroSchema): boolean => t === 'string' || (isObj(t) && t.type === 'string');

/** The declared personal fields of an event; a malformed declaration throws, naming the file and field. */
export function piiFields(e: Pick<EventSource, 'file' | 'schema'>): PiiField[] {
  const fields = schemaFields(e.schema);
  const out: PiiField[] = [];
  for (const f of fields) {
    const { pii, piiCategory, piiSubject } = f.decl;
    const where = `${e.file}: ${f.path}`;
    if (pii === undefined) {
      if (piiCategory !== undefined || piiSubject !== undefined) throw new Error(`${where}: piiCategory/piiSubject without "pii": true`);
      continue;
    }
    if (pii !== true) throw new Error(`${where}: "pii" must be true when present, got ${JSON.stringify(pii)}`);
    if (!(PII_CATEGORIES as readonly unknown[]).includes(piiCategory))
      throw new Error(`${where}: "piiCategory" must be one of ${PII_CATEGORIES.join(', ')}, got ${JSON.stringify(piiCategory)}`);
    if (piiSubject !== undefined) {
      const sibling = fields.find((s) => s.record === f.record && s.name === piiSubject);
      if (!sibling || !isStringValued(sibling.valueType))
        throw new Error(`${where}: "piiSubject" ${JSON.stringify(piiSubject)} must name a string field of ${f.record}`);
    }
    out.push({
      path: f.path,
      record: f.record,
      name: f.name,
      category: piiCategory as PiiCategory,
      subject: piiSubject as string | undefined,
    });
  }
  return out;
}

const isEncrypted = (t: AvroSchema): boolean =>
  isObj(t) ? t.name === 'EncryptedString' : typeof t === 'string' && short(t) === 'EncryptedString';

/** A personal field's type without its EncryptedString branch: what handlers see (issue 21, schemas/personal-fields.ts). */
export function plainType(t: AvroSchema): AvroSchema {
  if (Array.isArray(t)) {
    const rest = t.filter((x) => !isEncrypted(x));
    return rest.length === 1 ? rest[0]! : rest;
  }
  if (isObj(t) && t.type === 'array') return { ...t, items: plainType(t.items as AvroSchema) };
  if (isObj(t) && t.type === 'map') return { ...t, values: plainType(t.values as AvroSchema) };
  return t;
}
