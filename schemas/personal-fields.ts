import { AppError } from '../lib/errors';
import { SubjectErasedError } from '../lib/privacy/errors';
import { decryptField, encryptField, type DataKey, type EncryptedValue } from '../lib/privacy/field-cipher';

/**
 * The codec's mapping of personal fields (issue 21) between the domain form handlers see (plaintext strings) and
 * the wire form (`school.common.EncryptedString` in the field's union). Which fields: the `"pii": true`
 * declarations of the schema; whose key: the data key of the value of the sibling field named by `piiSubject`.
 * Associated data: key id, subject, the event's eventId and the field path (`payload.email`, array items
 * `payload.warnings[0]`, map values `payload.variables[name]`). Pure apart from the key lookups passed in.
 */

/** What every read of an erased person's personal field yields (a date field: null). Not personal data itself. */
export const ERASED_MARKER = '[erased]';

/** Gets (or creates) the data key that encrypts a person's fields; SubjectErasedError once they were erased. */
export interface FieldEncryptor {
  keyForWriting(subject: string): Promise<DataKey>;
}

/** Finds the data key an encrypted value names; SubjectErasedError once the person was erased. */
export interface FieldDecryptor {
  keyForReading(subject: string, keyId: string): Promise<DataKey>;
}

/** The wire form of one encrypted personal value, as Avro decodes it. */
export type EncryptedString = EncryptedValue;

/**
 * An encrypted personal field does not open: wrong key or context, changed bytes, a key this store does not
 * have, or a key that does not unwrap. A property of the record, never retried: the runtime dead-letters it.
 */
export class PersonalFieldUnreadableError extends AppError {
  readonly code = 'PERSONAL_FIELD_UNREADABLE';
  readonly retriable = false;
  constructor(
    readonly fieldPath: string,
    readonly eventId: string,
    why: string,
    options?: { cause?: unknown },
  ) {
    super(`personal field ${fieldPath} of event ${eventId} cannot be decrypted: ${why}`, options);
  }
}

/** One declared personal field of an event type, compiled for the hot path. */
export interface PersonalSlot {
  /** Dotted path, e.g. `payload.firstName`, `metadata.ipAddress`. */
  name: string;
  path: string[];
  /** Path of the field naming the person; undefined when the declaration has none (the value stays plaintext). */
  subjectPath: string[] | undefined;
  shape: 'one' | 'array' | 'map';
  /** An Avro date on the plaintext branch: encrypted as its ISO string; erased reads as null. */
  date: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const short = (name: string): string => name.slice(name.lastIndexOf('.') + 1);
const isEncryptedRef = (t: unknown): boolean =>
  isObj(t) ? t.name === 'EncryptedString' : typeof t === 'string' && short(t) === 'EncryptedString';

/** Is this decoded value the EncryptedString branch (not a plaintext string)? */
export function isEncryptedString(v: unknown): v is EncryptedString {
  return isObj(v) && typeof v.keyId === 'string' && typeof v.subject === 'string' && Buffer.isBuffer(v.ciphertext);
}

/** The personal fields declared in an assembled event schema, in field order. */
export function personalSlots(schema: Obj): PersonalSlot[] {
  const named = new Map<string, Obj>();
  const collect = (t: unknown): void => {
    if (Array.isArray(t)) t.forEach(collect);
    else if (isObj(t)) {
      if (t.type === 'record' && typeof t.name === 'string') named.set(short(t.name), t);
      for (const v of Object.values(t)) collect(v);
    }
  };
  collect(schema);
  const resolve = (t: unknown): unknown => (typeof t === 'string' ? (named.get(short(t)) ?? t) : t);
  const out: PersonalSlot[] = [];
  const walk = (rec: Obj, prefix: string[]): void => {
    for (const f of (rec.fields as Obj[] | undefined) ?? []) {
      const path = [...prefix, String(f.name)];
      const branches = (Array.isArray(f.type) ? (f.type as unknown[]) : [f.type]).filter((b) => b !== 'null' && !isEncryptedRef(b));
      if (f.pii === true) {
        const t = branches.length === 1 ? branches[0] : undefined;
        const shape = isObj(t) && t.type === 'array' ? 'array' : isObj(t) && t.type === 'map' ? 'map' : 'one';
        const date = isObj(t) && t.logicalType === 'date';
        if (shape === 'one' && t !== 'string' && !date) throw new Error(`${path.join('.')}: a personal field must be a string or a date`);
        const subject = typeof f.piiSubject === 'string' ? [...prefix, f.piiSubject] : undefined;
        out.push({ name: path.join('.'), path, subjectPath: subject, shape, date });
        continue;
      }
      const inner = branches.length === 1 ? resolve(branches[0]) : undefined;
      if (isObj(inner) && inner.type === 'record') walk(inner, path);
      // Personal fields inside arrays or maps of records are not declared anywhere yet; say so if one appears.
      else if (JSON.stringify(f.type).includes('"pii":true'))
        throw new Error(`${path.join('.')}: personal fields under arrays/maps of records are not supported`);
    }
  };
  walk(schema, []);
  return out;
}

const getAt = (o: unknown, path: readonly string[]): unknown => {
  let x = o;
  for (const k of path) x = isObj(x) ? x[k] : undefined;
  return x;
};

/** A copy of `o` with `value` at `path`; objects along the path are copied, nothing of the caller's is changed. */
const setAt = (o: Obj, path: readonly string[], value: unknown): Obj => {
  const [k, ...rest] = path as [string, ...string[]];
  return { ...o, [k]: rest.length ? setAt((o[k] ?? {}) as Obj, rest, value) : value };
};

/** Whether any personal field of the event has a value and a subject to encrypt it under (else nothing to seal). */
export function hasPersonalValues(event: object, slots: readonly PersonalSlot[]): boolean {
  for (const s of slots) {
    const v = getAt(event, s.path);
    if (v !== null && v !== undefined && s.subjectPath && typeof getAt(event, s.subjectPath) === 'string') return true;
  }
  return false;
}

/**
 * The wire form of an event: every personal field with a subject encrypted under that person's data key. An
 * erased person's fields are written as the marker (a date as null). A field without a subject value stays
 * plaintext. Returns a new object; the event passed in is not changed.
 */
export async function sealPersonalFields<E extends object>(event: E, slots: readonly PersonalSlot[], keys: FieldEncryptor): Promise<E> {
  let out = event as unknown as Obj;
  const eventId = String(out.eventId);
  for (const s of slots) {
    const value = getAt(out, s.path);
    if (value === null || value === undefined || !s.subjectPath) continue;
    const subject = getAt(out, s.subjectPath);
    if (typeof subject !== 'string') continue;
    let key: DataKey | undefined;
    try {
      key = await keys.keyForWriting(subject);
    } catch (e) {
      if (!(e instanceof SubjectErasedError)) throw e;
    }
    const seal = (v: unknown, fieldPath: string): unknown => {
      if (typeof v !== 'string') return v; // not a string: left for the schema check to name
      return key ? encryptField(key, { subject, eventId, fieldPath }, v) : s.date ? null : ERASED_MARKER;
    };
    let sealed: unknown;
    if (s.shape === 'array' && Array.isArray(value)) sealed = value.map((v, i) => seal(v, `${s.name}[${i}]`));
    else if (s.shape === 'map' && isObj(value))
      sealed = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, seal(v, `${s.name}[${k}]`)]));
    else sealed = seal(value, s.name);
    out = setAt(out, s.path, sealed);
  }
  return out as unknown as E;
}

/**
 * The domain form of a decoded event, in place: every EncryptedString opened with the key the decryptor finds;
 * an erased person's value becomes the marker (a date: null). A value that does not open throws
 * PersonalFieldUnreadableError; a key store that is down throws its own (retriable) error.
 */
export async function openPersonalFields(event: Obj, slots: readonly PersonalSlot[], keys: FieldDecryptor): Promise<void> {
  const eventId = String(event.eventId);
  for (const s of slots) {
    const parent = getAt(event, s.path.slice(0, -1));
    const last = s.path[s.path.length - 1]!;
    if (!isObj(parent)) continue;
    const value = parent[last];
    if (value === null || value === undefined) continue;
    const open = async (v: unknown, fieldPath: string): Promise<unknown> => {
      if (!isEncryptedString(v)) return v;
      const subject = s.subjectPath ? getAt(event, s.subjectPath) : undefined;
      if (typeof subject !== 'string') throw new PersonalFieldUnreadableError(fieldPath, eventId, 'the event does not name its subject');
      try {
        return decryptField(await keys.keyForReading(subject, v.keyId), { subject, eventId, fieldPath }, v);
      } catch (e) {
        if (e instanceof SubjectErasedError) return s.date ? null : ERASED_MARKER;
        if (e instanceof AppError && !e.retriable)
          throw new PersonalFieldUnreadableError(fieldPath, eventId, `${e.code}: ${e.message}`, { cause: e });
        throw e;
      }
    };
    if (s.shape === 'array' && Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = await open(value[i], `${s.name}[${i}]`);
    } else if (s.shape === 'map' && isObj(value)) {
      for (const k of Object.keys(value)) value[k] = await open(value[k], `${s.name}[${k}]`);
    } else parent[last] = await open(value, s.name);
  }
}
