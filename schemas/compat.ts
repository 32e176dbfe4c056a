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
