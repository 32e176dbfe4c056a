import { expect } from 'chai';
import { assembleAll } from './tools/assemble';
import { piiFields, schemaFields } from './tools/pii';

/** Words in a field name that suggest personal data (the name split at camelCase humps, lower-cased). */
const PERSONAL_WORDS = new Set([
  ...['name', 'names', 'surname', 'nickname'],
  ...['email', 'mail', 'phone', 'mobile', 'address', 'street', 'city', 'postal', 'zip', 'ip', 'agent'],
  ...['birth', 'dob', 'institution'],
  ...['comment', 'comments', 'note', 'notes', 'remark', 'remarks', 'reason', 'justification', 'description'],
  ...['message', 'subject', 'body', 'text', 'warning', 'warnings', 'variables'],
]);

/**
 * Fields whose names look personal but whose values are not, each with why. `Record.field`, the record that
 * declares the field (a payload record, or a shared one such as GradingPeriod). Adding an entry is a privacy
 * decision: say why in the comment.
 */
const NOT_PERSONAL: Record<string, string> = {
  // Display names of school things, not of people.
  'AcademicYearStartedPayload.name': 'a school year, e.g. 2025-2026',
  'GradingPeriod.name': 'a grading period, e.g. Term 1',
  'SectionCreatedPayload.name': 'a section, e.g. 5A',
  'CourseAssignedPayload.courseName': 'a course, e.g. Mathematics 5',
  // Saga reasons and messages: composed by the processors from fixed templates and opaque ids (academic, users,
  // grades and attendance handlers), never typed by a person. A welcome failure, which can quote an address, goes
  // to enrollment.completed's warnings instead (declared).
  'EnrollmentCompensatedPayload.reason': 'saga template',
  'EnrollmentFailedPayload.reason': 'saga template',
  'EnrollmentSectionAssignmentCompensatedPayload.reason': 'saga template',
  'EnrollmentSectionAssignmentFailedPayload.message': 'saga template',
  'EnrollmentUserValidationCompensatedPayload.reason': 'saga template',
  'EnrollmentUserValidationFailedPayload.message': 'saga template',
  'EnrollmentGradesCompensatedPayload.reason': 'saga template',
  'EnrollmentGradesInitializationFailedPayload.message': 'saga template',
  'EnrollmentAttendanceInitializationFailedPayload.message': 'saga template',
  // The channel's id of a sent message (SMTP Message-ID, webhook answer): opaque.
  'NotificationDeliveredPayload.providerMessageId': 'opaque provider id',
  'NotificationSentPayload.providerMessageId': 'opaque provider id',
};

const words = (name: string): string[] => name.split(/(?<=[a-z0-9])(?=[A-Z])|[_-]/).map((w) => w.toLowerCase());
const isEnum = (t: unknown): boolean => typeof t === 'object' && t !== null && (t as { type?: unknown }).type === 'enum';

describe('personal data declared in the contracts (issue 21 item 1)', () => {
  const events = assembleAll();
  const fields = events.flatMap((e) => schemaFields(e.schema));

  it('every field whose name looks personal is declared "pii" or allow-listed with a reason', () => {
    const missing = new Set<string>();
    for (const f of fields) {
      // An enum's symbols are fixed by the contract: it cannot carry a person's data whatever its name.
      if (f.decl.pii === true || isEnum(f.valueType) || !words(f.name).some((w) => PERSONAL_WORDS.has(w))) continue;
      if (!(`${f.record}.${f.name}` in NOT_PERSONAL)) missing.add(`${f.record}.${f.name} (${f.path})`);
    }
    expect([...missing], 'declare "pii": true, "piiCategory", "piiSubject", or allow-list with a reason').to.deep.equal([]);
  });

  it('the allow-list names existing, undeclared fields only (no stale or contradicting entries)', () => {
    const undeclared = new Set(fields.filter((f) => f.decl.pii !== true).map((f) => `${f.record}.${f.name}`));
    expect(Object.keys(NOT_PERSONAL).filter((k) => !undeclared.has(k))).to.deep.equal([]);
  });

  it('every declaration is well formed, and the core personal fields are declared', () => {
    const declared = new Map(events.flatMap((e) => piiFields(e).map((f) => [`${e.eventType}:${f.path}`, f] as const)));
    for (const [key, category, subject] of [
      ['user.created:payload.firstName', 'identity', 'userId'],
      ['user.created:payload.birthDate', 'identity', 'userId'],
      ['user.created:payload.email', 'contact', 'userId'],
      ['user.updated:payload.phone', 'contact', 'userId'],
      ['student.enrolled:payload.previousInstitution', 'identity', 'studentUserId'],
      ['grade.recorded:payload.comment', 'free-text', 'studentUserId'],
      ['absence.justified:payload.justification', 'free-text', 'studentUserId'],
      ['grade.recorded:metadata.ipAddress', 'identity', 'triggeredBy'],
    ] as const)
      expect(declared.get(key), key).to.include({ category, subject });
  });

  it('a malformed declaration is refused, naming the field', () => {
    const schema = (decl: Record<string, unknown>) => ({
      file: 'x.avsc',
      schema: {
        type: 'record',
        name: 'X',
        fields: [
          { name: 'userId', type: 'string' },
          { name: 'note', type: 'string', ...decl },
        ],
      },
    });
    expect(() => piiFields(schema({ pii: true }))).to.throw(/x.avsc: note: "piiCategory" must be one of/);
    expect(() => piiFields(schema({ pii: true, piiCategory: 'contact', piiSubject: 'who' }))).to.throw(/"piiSubject" "who"/);
    expect(() => piiFields(schema({ piiCategory: 'contact' }))).to.throw(/without "pii": true/);
    expect(piiFields(schema({ pii: true, piiCategory: 'contact', piiSubject: 'userId' }))).to.have.length(1);
  });
});
