import avro from 'avsc';
import { avroOptions } from './logical-types';

export interface CompatIssue {
  direction: 'BACKWARD' | 'FORWARD';
  field: string | undefined;
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function recordOf(t: unknown): Obj | undefined {
  if (Array.isArray(t)) return t.map(recordOf).find(Boolean);
  return isObj(t) && t.type === 'record' ? t : undefined;
}

/** Reader fields the writer lacks and that have no default: the usual way a change breaks a reader. */
function missingFields(reader: Obj, writer: Obj, prefix = ''): string[] {
  const wf = new Map(((writer.fields as Obj[]) ?? []).map((f) => [String(f.name), f]));
  const out: string[] = [];
  for (const f of (reader.fields as Obj[]) ?? []) {
    const name = `${prefix}${String(f.name)}`;
    const w = wf.get(String(f.name)) ?? ((f.aliases as string[] | undefined) ?? []).map((a) => wf.get(a)).find(Boolean);
    if (!w) {
      if (!('default' in f)) out.push(name);
      continue;
    }
    const rr = recordOf(f.type);
    const wr = recordOf(w.type);
    if (rr && wr) out.push(...missingFields(rr, wr, `${name}.`));
  }
  return out;
}

/**
 * Compares a new schema with the last released one in both directions:
 * BACKWARD (new readers, e.g. our replays, read old records) and FORWARD (consumers
 * still on the old schema read new records). Downstream teams upgrade on their own
 * schedule, so a change must pass both (FULL) to be safe for them.
 */
export function compare(current: Obj, previous: Obj): CompatIssue[] {
  const cur = avro.Type.forSchema(current as avro.Schema, avroOptions());
  const prev = avro.Type.forSchema(previous as avro.Schema, avroOptions());
  const issues: CompatIssue[] = [];
  const check = (direction: CompatIssue['direction'], reader: avro.Type, writer: avro.Type, readerJson: Obj, writerJson: Obj): void => {
    try {
      reader.createResolver(writer);
    } catch (e) {
      const missing = missingFields(readerJson, writerJson);
      const why =
        direction === 'BACKWARD'
          ? 'added without a default: the new schema cannot read old records'
          : 'removed or made required: consumers on the old schema cannot read new records';
      if (missing.length) for (const field of missing) issues.push({ direction, field, message: `field ${field} ${why}` });
      else issues.push({ direction, field: undefined, message: (e as Error).message });
    }
  };
  check('BACKWARD', cur, prev, current, previous);
  check('FORWARD', prev, cur, previous, current);
  return issues;
}

/**
 * A reviewed, one-time exception to FORWARD compatibility (schemas/breaks.json): one field of one subject whose
 * string branch was widened by `school.common.EncryptedString` (issue 21: personal fields encrypted on the wire).
 */
export interface ReviewedBreak {
  subject: string;
  /** Dotted path from the event record, e.g. `payload.email`, `metadata.ipAddress`. */
  field: string;
  reason: string;
}

const ENCRYPTED = 'EncryptedString';
const isEncryptedBranch = (t: unknown): boolean =>
  isObj(t) ? t.type === 'record' && t.name === ENCRYPTED : typeof t === 'string' && t.slice(t.lastIndexOf('.') + 1) === ENCRYPTED;

/** The type without its EncryptedString branch (in a union, or in an array's items / a map's values); undefined if it has none. */
function withoutEncrypted(t: unknown): { type: unknown; definition: Obj | undefined } | undefined {
  if (Array.isArray(t)) {
    const enc = t.filter(isEncryptedBranch);
    if (enc.length !== 1) return undefined;
    const rest = t.filter((x) => !isEncryptedBranch(x));
    return { type: rest.length === 1 ? rest[0] : rest, definition: isObj(enc[0]) ? enc[0] : undefined };
  }
  if (isObj(t) && (t.type === 'array' || t.type === 'map')) {
    const key = t.type === 'array' ? 'items' : 'values';
    const inner = withoutEncrypted(t[key]);
    return inner && { type: { ...t, [key]: inner.type }, definition: inner.definition };
  }
  return undefined;
}

/**
 * Checks a change against the reviewed exceptions of its subject: accepted only when (1) it is BACKWARD
 * compatible as it is (new readers read old records), (2) removing the EncryptedString branch from exactly the
 * listed fields gives a schema FULL compatible with the previous one (so nothing else broke, and each listed
 * field was a string or date branch before), (3) no other field carries EncryptedString and (4) its definition is
 * the reviewed one. Returns the issues that remain (empty = accepted) and the exceptions that were needed.
 */
export function compareWithBreaks(
  current: Obj,
  previous: Obj,
  breaks: readonly ReviewedBreak[],
  encryptedDefinition: Obj,
): { issues: CompatIssue[]; accepted: ReviewedBreak[] } {
  const issues = compare(current, previous);
  if (issues.length === 0 || breaks.length === 0) return { issues, accepted: [] };
  if (issues.some((i) => i.direction === 'BACKWARD')) return { issues, accepted: [] };
  const listed = new Map(breaks.map((b) => [b.field, b]));
  const narrowed = structuredClone(current);
  const problems: CompatIssue[] = [];
  const found = new Set<string>();
  const walk = (rec: Obj, prefix: string): void => {
    for (const f of (rec.fields as Obj[] | undefined) ?? []) {
      const name = `${prefix}${String(f.name)}`;
      if (listed.has(name)) {
        const stripped = withoutEncrypted(f.type);
        if (!stripped) {
          problems.push({
            direction: 'FORWARD',
            field: name,
            message: `exception for ${name}, but its type is not widened by ${ENCRYPTED}`,
          });
          continue;
        }
        if (stripped.definition && JSON.stringify(stripped.definition) !== JSON.stringify(encryptedDefinition))
          problems.push({
            direction: 'FORWARD',
            field: name,
            message: `${ENCRYPTED} at ${name} is not the reviewed definition (schemas/common)`,
          });
        f.type = stripped.type;
        found.add(name);
        continue;
      }
      const inner = recordOf(f.type);
      if (inner) walk(inner, `${name}.`);
    }
  };
  walk(narrowed, '');
  if (JSON.stringify(narrowed).includes(ENCRYPTED))
    problems.push({ direction: 'FORWARD', field: undefined, message: `${ENCRYPTED} appears in a field without a reviewed exception` });
  if (problems.length) return { issues: problems, accepted: [] };
  const rest = compare(narrowed, previous);
  if (rest.length) return { issues: rest, accepted: [] };
  return { issues: [], accepted: breaks.filter((b) => found.has(b.field)) };
}
