import type { EventSource } from './assemble';
import { piiFields, subjectPath, type PiiField } from './pii';

/** The personal-data parts of docs/events.md, from the schemas' declarations (schemas/tools/pii.ts). */

const isEnvelope = (f: PiiField): boolean => !f.path.startsWith('payload.');
const describe = (f: PiiField): string => {
  const subject = subjectPath(f);
  return `\`${f.path}\` (${f.category}; data subject ${subject ? `\`${subject}\`` : 'not in this payload: see its doc'})`;
};

/** The catalog's "Personal data" section: what the declarations mean, the envelope's, and a row per event type. */
export function piiSummary(events: EventSource[]): string[] {
  const envelope = piiFields(events[0]!).filter(isEnvelope);
  const rows = events.map((e) => ({ e, fields: piiFields(e).filter((f) => !isEnvelope(f)) })).filter((r) => r.fields.length > 0);
  const count = (c: PiiField['category']): number =>
    events.flatMap((e) => piiFields(e).filter((f) => !isEnvelope(f) && f.category === c)).length;
  return [
    '## Personal data',
    '',
    'A field holding personal data carries `"pii": true` in its schema (the registered schema too), with `"piiCategory"` and,',
    'where the payload names the person, `"piiSubject"`: the field holding the user id of the person the value describes.',
    'Categories: `identity` (who someone is: names, birth date, previous institution, online identifiers), `contact` (how',
    'to reach them: e-mail, phone, addresses) and `free-text` (text people write, or text that can quote personal data:',
    'comments, reasons, justifications, notification texts). Avro readers ignore these properties; the values are plain',
    'text on the wire today, and issue 21 encrypts them per data subject (`docs/decisions.md`, "Student privacy").',
    '',
    `Envelope (every event): ${envelope.map(describe).join(', ')}.`,
    '',
    `${rows.length} of ${events.length} event types carry personal payload fields (${count('identity')} identity, ${count('contact')} contact, ${count('free-text')} free-text):`,
    '',
    '| event type | personal payload fields (category; data subject) |',
    '|---|---|',
    ...rows.map((r) => `| [\`${r.e.eventType}\`](#${r.e.eventType.replace(/\./g, '')}) | ${r.fields.map(describe).join(', ')} |`),
    '',
  ];
}

/** One event's line under its payload table. */
export function piiLine(e: EventSource): string[] {
  const own = piiFields(e).filter((f) => !isEnvelope(f));
  return [own.length ? `Personal fields: ${own.map(describe).join(', ')}.` : 'Personal fields: none in the payload.', ''];
}
