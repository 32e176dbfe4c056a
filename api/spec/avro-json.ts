import { plainType } from '../../schemas/tools/pii';

/**
 * Avro payload schema → JSON Schema (2020-12, as OpenAPI 3.1 uses it), so the request
 * bodies of commands are the event contracts themselves and cannot drift from them.
 * Stricter than Avro where HTTP input needs it: ids are plain tokens (no `$`, quotes,
 * spaces: Mongo operators and SQL meta never reach a store), strings and lists are bounded,
 * unknown properties are refused.
 */
export type JsonSchema = Record<string, unknown>;

export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$';
export const ID_SCHEMA: JsonSchema = { type: 'string', pattern: ID_PATTERN };

type Avro = string | Avro[] | { [k: string]: unknown };

const isIdField = (name: string): boolean => /(Id|By)$/.test(name) || name === 'userId';

export function payloadToJsonSchema(payload: Record<string, unknown>, omit: ReadonlySet<string> = new Set()): JsonSchema {
  const named = new Map<string, JsonSchema>();
  return recordSchema(payload, named, omit);
}

function recordSchema(record: Record<string, unknown>, named: Map<string, JsonSchema>, omit: ReadonlySet<string>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const f of record.fields as Array<{ name: string; type: Avro; doc?: string; pii?: boolean }>) {
    if (omit.has(f.name)) continue;
    // A personal field's wire type also admits EncryptedString (issue 21); commands carry the plaintext.
    const type = f.pii === true ? plainType(f.type) : f.type;
    const nullable = Array.isArray(type) && type.includes('null');
    const inner = Array.isArray(type) ? (type.find((t) => t !== 'null') as Avro) : type;
    const s = typeSchema(inner, f.name, named);
    properties[f.name] = { ...(nullable ? { ...s, type: [s.type, 'null'].flat() } : s), ...(f.doc ? { description: f.doc } : {}) };
    if (!nullable) required.push(f.name);
  }
  const schema: JsonSchema = { type: 'object', additionalProperties: false, properties };
  if (required.length) schema.required = required;
  return schema;
}

function typeSchema(t: Avro, field: string, named: Map<string, JsonSchema>): JsonSchema {
  if (typeof t === 'string') {
    switch (t) {
      case 'string':
        if (isIdField(field)) return { ...ID_SCHEMA };
        if (field === 'email') return { type: 'string', format: 'email', maxLength: 254 };
        return { type: 'string', maxLength: 4000 };
      case 'int':
        return { type: 'integer', minimum: -2147483648, maximum: 2147483647 };
      case 'long':
        return { type: 'integer' };
      case 'float':
      case 'double':
        return { type: 'number' };
      case 'boolean':
        return { type: 'boolean' };
      default: {
        const ref = named.get(t) ?? named.get(t.split('.').pop() ?? t);
        if (!ref) throw new Error(`unknown Avro type reference ${t}`);
        return ref;
      }
    }
  }
  if (Array.isArray(t)) throw new Error(`unions other than [null, T] are not used in payloads (field ${field})`);
  const logical = t.logicalType as string | undefined;
  if (logical === 'date') return { type: 'string', format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$' };
  if (logical === 'timestamp-millis') return { type: 'string', format: 'date-time' };
  if (logical === 'uuid') return { type: 'string', format: 'uuid' };
  switch (t.type) {
    case 'record': {
      const s = recordSchema(t, named, new Set());
      remember(t, s, named);
      return s;
    }
    case 'enum': {
      const s = { type: 'string', enum: t.symbols as string[] };
      remember(t, s, named);
      return s;
    }
    case 'array':
      return { type: 'array', maxItems: 500, items: typeSchema(t.items as Avro, field.replace(/s$/, ''), named) };
    case 'map':
      return {
        type: 'object',
        maxProperties: 50,
        propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' },
        additionalProperties: typeSchema(t.values as Avro, 'value', named),
      };
    default:
      return typeSchema(t.type as Avro, field, named);
  }
}

function remember(t: { [k: string]: unknown }, s: JsonSchema, named: Map<string, JsonSchema>): void {
  const name = String(t.name);
  named.set(name, s);
  if (typeof t.namespace === 'string') named.set(`${t.namespace}.${name}`, s);
}
