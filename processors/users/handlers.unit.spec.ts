import { expect } from 'chai';
import { anEvent, given } from '../testing/gwt';
import {
  enrollmentView,
  onEnrollmentEnded,
  onStudentEnrolled,
  onUserCreated,
  onUserDeactivated,
  onValidationOutcome,
  type EnrollmentRef,
  type Profile,
} from './handlers';

const student: Profile = {
  _id: 'USR-2025-000001',
  userType: 'STUDENT',
  firstName: 'Lucía',
  lastName: 'F',
  email: 'l@x',
  phone: null,
  birthDate: null,
  roles: ['STUDENT'],
  status: 'ACTIVE',
};

describe('users handlers', () => {
  const enrolled = anEvent('student.enrolled');
  it('step 2 validates an active student', () => {
    given<Profile | undefined>(student)
      .when(enrolled, onStudentEnrolled)
      .thenSatisfies((d) => expect(d.emit.map((e) => e.type)).to.deep.equal(['enrollment.user.validated']));
  });
  const failing: Array<[string, Profile | undefined, string]> = [
    ['does not exist', undefined, 'USER_NOT_FOUND'],
    ['was deactivated while enrolled', { ...student, status: 'DEACTIVATED' }, 'USER_DEACTIVATED'],
    ['is not a student', { ...student, userType: 'TEACHER', roles: ['TEACHER'] }, 'NOT_A_STUDENT'],
  ];
  for (const [why, profile, reason] of failing) {
    it(`step 2 fails with ${reason} when the user ${why}`, () => {
      given<Profile | undefined>(profile)
        .when(enrolled, onStudentEnrolled)
        .thenSatisfies((d) => expect(d.emit[0]?.payload).to.include({ reason }));
    });
  }
  it('step 2 records the request on the enrollment, whatever its outcome', () => {
    for (const profile of [student, undefined])
      given<Profile | undefined>(profile)
        .when(enrolled, onStudentEnrolled)
        .thenSatisfies((d) =>
          expect(d.updates).to.deep.equal([
            {
              collection: 'enrollment_refs',
              id: enrolled.payload.enrollmentId,
              set: {
                studentUserId: enrolled.payload.studentUserId,
                sectionId: enrolled.payload.sectionId,
                academicYearId: enrolled.payload.academicYearId,
                requestedAt: enrolled.timestamp,
              },
            },
          ]),
        );
  });
  it("step 2's outcome records whether the student existed (a deactivated one did)", () => {
    const id = anEvent('enrollment.user.validated').payload.enrollmentId;
    const found = { collection: 'enrollment_refs', id, set: { studentFound: true } };
    expect(onValidationOutcome(anEvent('enrollment.user.validated')).updates).to.deep.equal([found]);
    expect(
      onValidationOutcome(anEvent('enrollment.user.validation.failed', { enrollmentId: id, reason: 'USER_DEACTIVATED' })).updates,
    ).to.deep.equal([found]);
    expect(
      onValidationOutcome(anEvent('enrollment.user.validation.failed', { enrollmentId: id, reason: 'USER_NOT_FOUND' })).updates,
    ).to.deep.equal([]);
  });
  it("the saga's end records the outcome and the final section", () => {
    const done = anEvent('enrollment.completed', { sectionId: 'SEC-B' });
    expect(onEnrollmentEnded(done).updates[0]?.set).to.deep.equal({ outcome: 'COMPLETED', finalSectionId: 'SEC-B' });
    expect(onEnrollmentEnded(anEvent('enrollment.failed')).updates[0]?.set).to.deep.equal({ outcome: 'FAILED' });
  });
  it('creates a 360 document only for students', () => {
    expect(onUserCreated(anEvent('user.created').payload).updates.map((u) => u.collection)).to.deep.equal(['users', 'student360']);
    expect(
      onUserCreated(anEvent('user.created', { userType: 'TEACHER', roles: ['TEACHER'] }).payload).updates.map((u) => u.collection),
    ).to.deep.equal(['users']);
  });
  it('deactivation marks profile and 360', () => {
    expect(onUserDeactivated(anEvent('user.deactivated').payload, student).updates.map((u) => u.set)).to.deep.equal([
      { status: 'DEACTIVATED', deactivationReason: 'left the school' },
      { 'profile.status': 'DEACTIVATED' },
    ]);
  });
});

describe("users: the 360's current enrollment", () => {
  const ref = (id: string, requestedAt: string, extra: Partial<EnrollmentRef> = {}): EnrollmentRef => ({
    _id: id,
    studentUserId: 'S',
    sectionId: 'SEC-A',
    academicYearId: '2025',
    requestedAt,
    studentFound: true,
    ...extra,
  });
  const refs = [
    ref('ENR-1', '2025-03-01T10:00:00.000Z', { outcome: 'FAILED' }),
    ref('ENR-2', '2025-03-02T10:00:00.000Z', { outcome: 'COMPLETED', finalSectionId: 'SEC-B' }),
    ref('ENR-3', '2025-03-03T10:00:00.000Z', { studentFound: false }),
    { _id: 'ENR-4', outcome: 'COMPLETED' as const }, // its student.enrolled not read yet
  ];
  it('is the latest requested enrollment whose student existed, with its outcome', () => {
    expect(enrollmentView(refs)).to.deep.equal({ enrollmentId: 'ENR-2', sectionId: 'SEC-B', academicYearId: '2025', status: 'COMPLETED' });
  });
  it('does not depend on the order the facts were read in', () => {
    const views = [refs, [...refs].reverse(), [refs[2]!, refs[0]!, refs[3]!, refs[1]!]].map((r) => JSON.stringify(enrollmentView(r)));
    expect(new Set(views).size).to.equal(1);
  });
  it('prefers an enrollment that completed over a later one that failed or is still running', () => {
    const held = ref('ENR-6', '2025-03-01T10:00:00.000Z', { outcome: 'COMPLETED' });
    const failed = ref('ENR-7', '2025-03-05T10:00:00.000Z', { outcome: 'FAILED', sectionId: 'SEC-C' });
    const running = ref('ENR-8', '2025-03-06T10:00:00.000Z', { sectionId: 'SEC-D' });
    expect(enrollmentView([failed, held])?.enrollmentId).to.equal('ENR-6');
    expect(enrollmentView([running, failed, held])?.enrollmentId).to.equal('ENR-6');
    expect(enrollmentView([failed, running])).to.deep.equal({
      enrollmentId: 'ENR-8',
      sectionId: 'SEC-D',
      academicYearId: '2025',
      status: 'PENDING',
    });
    expect(enrollmentView([failed])?.status).to.equal('FAILED'); // the only one: shown, with why it failed elsewhere
  });
  it('is pending until the saga ends, and absent when no student was found', () => {
    expect(enrollmentView([ref('ENR-5', '2025-03-01T10:00:00.000Z')])?.status).to.equal('PENDING');
    expect(enrollmentView([ref('ENR-5', '2025-03-01T10:00:00.000Z', { studentFound: false })])).to.equal(undefined);
  });
});
