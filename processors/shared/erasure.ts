import { EVENT_DEFINITIONS, type EventPayloads, type EventType } from '../../schemas/generated/events';
import { ERASED_MARKER, personalSlots } from '../../schemas/personal-fields';
import type { Statement } from '../runtime/sql';

/**
 * user.personal-data.erased in the PostgreSQL projections that keep decrypted personal values in columns and in
 * parked events (grades, attendance; issue 21). Once the person's key is gone a rebuild decodes each of their
 * personal fields as the marker (a date: null), so live replaces what it holds of them by exactly that and the
 * two stay equal. The fold only collects the chunk's erased subjects; the flush then runs one update per table,
 * after the chunk's other writes (it sees the rows they wrote, and no statement updates a row twice). Idempotent:
 * the updates set constants and touch only rows still holding another value. A chunk without an erasure runs
 * none of it.
 */

export const ERASURE = ['user.personal-data.erased'] as const satisfies readonly EventType[];

/** The subjects a chunk erased, after this event (pure: the fold keeps the result until its flush). */
export function onPersonalDataErased(erased: readonly string[], p: EventPayloads['user.personal-data.erased']): string[] {
  return erased.includes(p.userId) ? [...erased] : [...erased, p.userId];
}

/** Columns of a table holding decrypted personal values, all of the person named by the `subject` column. */
export interface PersonalColumns {
  table: string;
  subject: string;
  columns: readonly string[];
}

/** A personal field of the events a processor parks as jsonb, with whose value it is. */
export interface ParkedField {
  /** Path in the stored event, e.g. ['payload', 'comment']. */
  path: string[];
  /** Path of the field naming the person, e.g. ['payload', 'studentUserId'] (metadata's: ['metadata', 'triggeredBy']). */
  subject: string[];
  /** A date reads as null once erased; anything else as the marker. */
  date: boolean;
  /** The event types that declare it. */
  types: EventType[];
}

/** The personal fields the schemas declare for `types` (`"pii": true` with a `piiSubject`), merged by path. */
export function parkedFields(types: readonly EventType[]): ParkedField[] {
  const byPath = new Map<string, ParkedField>();
  for (const type of types)
    for (const slot of personalSlots(EVENT_DEFINITIONS[type].schema)) {
      if (!slot.subjectPath) continue; // no subject: never encrypted, so a rebuild reads it as it was
      // The stored jsonb holds such a value as an array or map of strings: not declared by any parked type yet.
      if (slot.shape !== 'one') throw new Error(`${type} ${slot.name}: an array or map personal field in a parked event is not handled`);
      const key = `${slot.path.join('.')}\u0000${slot.subjectPath.join('.')}`;
      const known = byPath.get(key);
      if (known) known.types.push(type);
      else byPath.set(key, { path: slot.path, subject: slot.subjectPath, date: slot.date, types: [type] });
    }
  return [...byPath.values()];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const name = (n: string): string => {
  if (!NAME.test(n)) throw new Error(`not a plain SQL or Avro name: ${n}`);
  return n;
};
const jsonPath = (path: readonly string[]): string => `'{${path.map(name).join(',')}}'`;
const TYPE = /^[a-z][a-z0-9.-]*$/;
const typeList = (types: readonly string[]): string =>
  `array[${types
    .map((t) => {
      if (!TYPE.test(t)) throw new Error(`not an event type: ${t}`);
      return `'${t}'`;
    })
    .join(', ')}]::text[]`;

/** $1 the erased subjects, $2 the marker: each column holding another value becomes the marker, null stays null. */
function columnsText(t: PersonalColumns): string {
  const set = t.columns.map((c) => `${name(c)} = case when ${c} is null then null else $2::text end`);
  const differs = t.columns.map((c) => `${c} <> $2::text`);
  return `update ${name(t.table)} set ${set.join(', ')} where ${name(t.subject)} = any($1::text[]) and (${differs.join(' or ')})`;
}

/**
 * $1 the erased subjects, $2 the marker: in each parked event, every declared personal field of one of them that
 * holds a value becomes the marker (a date: null). Scans parked_events: the subject of a metadata field (who
 * triggered the event) is in no column, and the table holds only events waiting for an enrollment.
 */
function parkedText(fields: readonly ParkedField[]): string {
  const needs = fields.map((f) => {
    const holds = f.date ? `jsonb_typeof(event #> ${jsonPath(f.path)}) <> 'null'` : `event #>> ${jsonPath(f.path)} <> $2::text`;
    return `(event_type = any(${typeList(f.types)}) and event #>> ${jsonPath(f.subject)} = any($1::text[]) and ${holds})`;
  });
  // jsonb_set_lax keeps the event as it is where the field needs nothing (a NULL new value), so the sets chain.
  let value = 'event';
  fields.forEach((f, i) => {
    const erased = f.date ? `'null'::jsonb` : 'to_jsonb($2::text)';
    value = `jsonb_set_lax(${value}, ${jsonPath(f.path)}, case when ${needs[i]!} then ${erased} end, false, 'return_target')`;
  });
  return `update parked_events set event = ${value} where ${needs.join(' or ')}`;
}

/**
 * The erasure statements of a projection: `tables` (their personal columns) and `parked_events` for the personal
 * fields of `parkedTypes`. The returned function gives a chunk's statements for the subjects it erased: none
 * when it erased nobody, else one update per table (disjoint tables: oneStatement may join them).
 */
export function erasureWrites(
  tables: readonly PersonalColumns[],
  parkedTypes: readonly EventType[],
): (subjects: readonly string[]) => Statement[] {
  const fields = parkedFields(parkedTypes);
  const texts = [...tables.map(columnsText), ...(fields.length ? [parkedText(fields)] : [])];
  return (subjects) => (subjects.length ? texts.map((text) => ({ text, values: [[...subjects], ERASED_MARKER] })) : []);
}
