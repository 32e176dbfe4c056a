import { expect } from 'chai';
import { anEvent, given } from '../testing/gwt';
import {
  decideSaga,
  onPersonalDataErased,
  onStudentEnrolled,
  onStudentTransferred,
  onUserValidated,
  replayedAssignment,
  type Enrollment,
  type Section,
} from './handlers';

const enrollment = (over: Partial<Enrollment> = {}): Enrollment => ({
  enrollmentId: 'ENR-2025-000001',
  studentUserId: 'USR-2025-000001',
  sectionId: 'SEC-2025-5A',
  academicYearId: '2025',
  status: 'PENDING',
  currentStep: 'VALIDATE_USER',
  failedStep: null,
  failureReason: null,
  seatHeld: false,
  active: true,
  compensated: [],
  warnings: [],
  deadlineExpired: false,
  ...over,
});
const section = (over: Partial<Section> = {}): Section => ({
  id: 'SEC-2025-5A',
  academicYearId: '2025',
  capacity: 30,
  seatsTaken: 10,
  ...over,
});

describe('academic handlers', () => {
  describe('student.enrolled (step 1)', () => {
    it('creates a PENDING enrollment carrying the saga correlation', () => {
      const e = anEvent('student.enrolled', {}, { correlationId: 'ENR-2025-000001' });
      given<Enrollment | undefined>(undefined)
        .when(e, onStudentEnrolled)
        .then({ changes: [{ kind: 'createEnrollment', enrollment: e.payload, correlationId: 'ENR-2025-000001' }], emit: [] });
    });
    it('ignores an enrollment id that already exists (a duplicate command)', () => {
      given<Enrollment | undefined>(enrollment()).when(anEvent('student.enrolled'), onStudentEnrolled).then({ changes: [], emit: [] });
    });
  });

  describe('replay: the recorded seat decision is applied, not taken again', () => {
    it('section.assigned seats a PENDING enrollment in the recorded section, with nothing to publish', () => {
      given(enrollment())
        .when(anEvent('enrollment.section.assigned', { sectionId: 'SEC-2025-5B' }), replayedAssignment)
        .then({
          changes: [
            { kind: 'seats', sectionId: 'SEC-2025-5B', delta: 1 },
            {
              kind: 'patchEnrollment',
              enrollmentId: 'ENR-2025-000001',
              patch: { status: 'SEATED', currentStep: 'INITIALIZE_GRADES', seatHeld: true },
            },
          ],
          emit: [],
        });
    });
    it('section.assignment.failed moves it to COMPENSATING with the recorded message', () => {
      given(enrollment())
        .when(anEvent('enrollment.section.assignment.failed', { message: 'section full' }), replayedAssignment)
        .thenSatisfies((d) =>
          expect(d.changes).to.deep.equal([
            {
              kind: 'patchEnrollment',
              enrollmentId: 'ENR-2025-000001',
              patch: {
                status: 'COMPENSATING',
                currentStep: 'ASSIGN_TO_SECTION',
                failedStep: 'ASSIGN_TO_SECTION',
                failureReason: 'section full',
              },
            },
          ]),
        );
    });
    it('changes nothing once the enrollment moved on', () => {
      given(enrollment({ status: 'SEATED' }))
        .when(anEvent('enrollment.section.assigned'), replayedAssignment)
        .then({ changes: [], emit: [] });
    });
  });

  describe('enrollment.user.validated (step 3)', () => {
    const validated = anEvent('enrollment.user.validated');
    it('takes a seat and emits section.assigned', () => {
      given({ enr: enrollment(), sec: section() })
        .when(validated, (e, s) => onUserValidated(e, s.enr, s.sec))
        .thenSatisfies((d) => {
          expect(d.changes[0]).to.deep.equal({ kind: 'seats', sectionId: 'SEC-2025-5A', delta: 1 });
          expect(d.emit).to.deep.equal([
            {
              type: 'enrollment.section.assigned',
              payload: {
                enrollmentId: 'ENR-2025-000001',
                studentUserId: 'USR-2025-000001',
                sectionId: 'SEC-2025-5A',
                seatsTaken: 11,
                capacity: 30,
              },
              discriminator: undefined,
            },
          ]);
        });
    });
    const failing: Array<[string, Section | undefined, string, RegExp]> = [
      ['the section is full', section({ seatsTaken: 30 }), 'SECTION_FULL', /30 of 30/],
      ['the section does not exist', undefined, 'SECTION_NOT_FOUND', /does not exist/],
      ['the section is of another year', section({ academicYearId: '2024' }), 'ACADEMIC_YEAR_MISMATCH', /2024, not 2025/],
    ];
    for (const [why, sec, reason, message] of failing) {
      it(`fails with ${reason} when ${why}, taking no seat`, () => {
        given({ enr: enrollment(), sec })
          .when(validated, (e, s) => onUserValidated(e, s.enr, s.sec))
          .thenSatisfies((d) => {
            expect(d.changes.some((c) => c.kind === 'seats')).to.equal(false);
            expect(d.emit).to.have.length(1);
            expect(d.emit[0]?.type).to.equal('enrollment.section.assignment.failed');
            expect(d.emit[0]?.payload).to.include({ reason });
            expect((d.emit[0]?.payload as { message: string }).message).to.match(message);
          });
      });
    }
    it('does nothing for a redelivered validation once the saga moved on', () => {
      given({ enr: enrollment({ status: 'SEATED', seatHeld: true }), sec: section() })
        .when(validated, (e, s) => onUserValidated(e, s.enr, s.sec))
        .then({ changes: [], emit: [] });
    });
  });

  describe('compensations, newest first', () => {
    it('grades failed: frees the held seat once and reports section compensation', () => {
      given(enrollment({ status: 'SEATED', seatHeld: true }))
        .when(anEvent('enrollment.grades.initialization.failed', { enrollmentId: 'ENR-2025-000001' }), decideSaga)
        .thenSatisfies((d) => {
          expect(d.changes.filter((c) => c.kind === 'seats')).to.deep.equal([{ kind: 'seats', sectionId: 'SEC-2025-5A', delta: -1 }]);
          expect(d.emit.map((x) => x.type)).to.deep.equal(['enrollment.section.assignment.compensated']);
        });
    });
    it('a compensation without a held seat frees nothing', () => {
      given(enrollment({ status: 'COMPENSATING', seatHeld: false }))
        .when(anEvent('enrollment.grades.compensated', { enrollmentId: 'ENR-2025-000001' }), decideSaga)
        .thenSatisfies((d) => expect(d.changes.filter((c) => c.kind === 'seats')).to.deep.equal([]));
    });
    it('enrollment.compensated ends the saga FAILED with the first failing step and every compensation', () => {
      given(
        enrollment({
          status: 'COMPENSATING',
          failedStep: 'INITIALIZE_GRADES',
          failureReason: 'no courses',
          compensated: ['ASSIGN_TO_SECTION', 'VALIDATE_USER'],
        }),
      )
        .when(anEvent('enrollment.compensated', { enrollmentId: 'ENR-2025-000001' }), decideSaga)
        .thenSatisfies((d) =>
          expect(d.emit[0]?.payload).to.deep.equal({
            enrollmentId: 'ENR-2025-000001',
            failedStep: 'INITIALIZE_GRADES',
            reason: 'no courses',
            compensated: ['ASSIGN_TO_SECTION', 'VALIDATE_USER', 'CREATE_ENROLLMENT'],
            outcome: 'FAILED',
          }),
        );
    });
    it('a saga event after the end changes nothing (terminal states are final)', () => {
      given(enrollment({ status: 'FAILED' }))
        .when(anEvent('enrollment.grades.compensated'), decideSaga)
        .then({ changes: [], emit: [] });
    });
  });

  describe('step 6', () => {
    it('a failed welcome still completes, with a warning', () => {
      given(enrollment({ status: 'ATTENDANCE_INITIALIZED', seatHeld: true }))
        .when(anEvent('enrollment.welcome.failed', { enrollmentId: 'ENR-2025-000001', reason: 'EMAIL SMTP_550' }), decideSaga)
        .thenSatisfies((d) => {
          expect(d.emit[0]?.type).to.equal('enrollment.completed');
          expect((d.emit[0]?.payload as { warnings: string[] }).warnings).to.deep.equal(['welcome notification failed: EMAIL SMTP_550']);
        });
    });
  });

  describe('student.transferred', () => {
    const completed = enrollment({ status: 'COMPLETED', seatHeld: true });
    it('frees the old seat and takes one in the new section (mid-period)', () => {
      given({ enr: completed, to: section({ id: 'SEC-2025-5B', seatsTaken: 3 }) })
        .when(anEvent('student.transferred', { toSectionId: 'SEC-2025-5B' }), (e, s) => onStudentTransferred(e, s.enr, s.to))
        .then({
          changes: [
            { kind: 'seats', sectionId: 'SEC-2025-5B', delta: 1 },
            { kind: 'seats', sectionId: 'SEC-2025-5A', delta: -1 },
            { kind: 'patchEnrollment', enrollmentId: 'ENR-2025-000001', patch: { sectionId: 'SEC-2025-5B', seatHeld: true } },
          ],
          emit: [
            {
              type: 'enrollment.section.assigned',
              payload: {
                enrollmentId: 'ENR-2025-000001',
                studentUserId: 'USR-2025-000001',
                sectionId: 'SEC-2025-5B',
                seatsTaken: 4,
                capacity: 30,
              },
              discriminator: undefined,
            },
          ],
        });
    });
    it('refuses a full target section and an unknown enrollment', () => {
      const full = onStudentTransferred(anEvent('student.transferred'), completed, section({ id: 'SEC-2025-5B', seatsTaken: 30 }));
      expect(full).to.have.property('refused').that.matches(/full/);
      expect(full).to.have.property('rule', 'TRANSFER_SECTION_FULL');
      expect(onStudentTransferred(anEvent('student.transferred'), undefined, section())).to.have.property('rule', 'TRANSFER_NOT_COMPLETED');
      expect(onStudentTransferred(anEvent('student.transferred'), completed, undefined)).to.have.property(
        'rule',
        'TRANSFER_SECTION_UNKNOWN',
      );
    });
  });
});

describe('academic handlers: late successes', () => {
  it('a step succeeding after the saga started compensating moves nothing', () => {
    const compensating: Enrollment = enrollment({
      status: 'COMPENSATING',
      currentStep: 'INITIALIZE_GRADES',
      failedStep: 'INITIALIZE_GRADES',
      failureReason: 'x',
      seatHeld: false,
    });
    given(compensating).when(anEvent('enrollment.attendance.initialized'), decideSaga).then({ changes: [], emit: [] });
    given(compensating).when(anEvent('enrollment.welcome.sent'), decideSaga).then({ changes: [], emit: [] });
  });
});

describe('academic handlers: events of different topics out of causal order', () => {
  it('attendance.initialized before grades.initialized: the saga moves on and the late grades event is a no-op', () => {
    const seated: Enrollment = enrollment({
      status: 'SEATED',
      currentStep: 'INITIALIZE_GRADES',
      failedStep: null,
      failureReason: null,
      seatHeld: true,
    });
    given(seated)
      .when(anEvent('enrollment.attendance.initialized'), decideSaga)
      .thenSatisfies((d) =>
        expect(d.changes).to.deep.include({
          kind: 'patchEnrollment',
          enrollmentId: 'ENR-2025-000001',
          patch: { status: 'ATTENDANCE_INITIALIZED', currentStep: 'SEND_WELCOME_NOTIFICATION' },
        }),
      );
    given({ ...seated, status: 'ATTENDANCE_INITIALIZED' as const })
      .when(anEvent('enrollment.grades.initialized'), decideSaga)
      .then({ changes: [], emit: [] });
  });
});

describe('academic handlers: saga deadlines', () => {
  const base: Enrollment = enrollment({
    status: 'SEATED',
    currentStep: 'INITIALIZE_GRADES',
    failedStep: null,
    failureReason: null,
    seatHeld: true,
  });
  const deadline = (status: string, stalledStep: Enrollment['currentStep']) =>
    anEvent('enrollment.deadline.expired', { enrollmentId: 'ENR-2025-000001', status, stalledStep, deadlineMs: 120000 });

  it('a saga that moved on since the check is left alone', () => {
    given(base).when(deadline('PENDING', 'VALIDATE_USER'), decideSaga).then({ changes: [], emit: [] });
  });
  it('stalled waiting for grades: fails at INITIALIZE_GRADES and frees the seat', () => {
    given(base)
      .when(deadline('SEATED', 'INITIALIZE_GRADES'), decideSaga)
      .thenSatisfies((d) => {
        expect(d.changes).to.deep.include({ kind: 'seats', sectionId: 'SEC-2025-5A', delta: -1 });
        expect(d.emit.map((x) => x.type)).to.deep.equal(['enrollment.section.assignment.compensated']);
      });
  });
  it('stalled waiting for validation: compensates the enrollment directly', () => {
    given({ ...base, status: 'PENDING' as const, seatHeld: false })
      .when(deadline('PENDING', 'VALIDATE_USER'), decideSaga)
      .thenSatisfies((d) => expect(d.emit.map((x) => x.type)).to.deep.equal(['enrollment.compensated']));
  });
  it('stalled waiting for the welcome: completes with a warning', () => {
    given({ ...base, status: 'ATTENDANCE_INITIALIZED' as const })
      .when(deadline('ATTENDANCE_INITIALIZED', 'SEND_WELCOME_NOTIFICATION'), decideSaga)
      .thenSatisfies((d) => {
        expect(d.emit.map((x) => x.type)).to.deep.equal(['enrollment.completed']);
        expect((d.emit[0]?.payload as { warnings: string[] }).warnings[0]).to.match(/^welcome notification: deadline expired/);
      });
  });
  it('a compensation that stalls ends COMPENSATION_FAILED, terminal', () => {
    const stuck = {
      ...base,
      status: 'COMPENSATING' as const,
      failedStep: 'INITIALIZE_ATTENDANCE' as const,
      failureReason: 'no schedule',
      compensated: [],
    };
    given(stuck)
      .when(deadline('COMPENSATING', 'INITIALIZE_ATTENDANCE'), decideSaga)
      .thenSatisfies((d) => {
        expect(d.changes).to.deep.include({
          kind: 'patchEnrollment',
          enrollmentId: 'ENR-2025-000001',
          patch: { status: 'COMPENSATION_FAILED', deadlineExpired: true },
        });
        expect(d.emit[0]?.payload).to.include({ outcome: 'COMPENSATION_FAILED', failedStep: 'INITIALIZE_ATTENDANCE' });
      });
    given({ ...stuck, status: 'COMPENSATION_FAILED' as const })
      .when(anEvent('enrollment.grades.compensated'), decideSaga)
      .then({ changes: [], emit: [] });
  });
  it('the saga that failed by deadline ends with outcome DEADLINE_EXPIRED', () => {
    given({
      ...base,
      status: 'COMPENSATING' as const,
      deadlineExpired: true,
      failedStep: 'INITIALIZE_GRADES' as const,
      failureReason: 'deadline expired',
    })
      .when(anEvent('enrollment.compensated', { enrollmentId: 'ENR-2025-000001' }), decideSaga)
      .thenSatisfies((d) => expect(d.emit[0]?.payload).to.include({ outcome: 'DEADLINE_EXPIRED' }));
  });

  it('user.personal-data.erased masks the student’s enrollments (previous institution) and emits nothing: the saga is not theirs to change', () => {
    given(undefined)
      .when(anEvent('user.personal-data.erased', { userId: 'USR-9' }), (e) => onPersonalDataErased(e.payload))
      .then({ changes: [{ kind: 'eraseStudent', studentUserId: 'USR-9' }], emit: [] });
  });
});
