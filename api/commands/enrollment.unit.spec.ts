import { expect } from 'chai';
import type { SchoolEvent } from '../../schemas/generated/events';
import { anEvent } from '../../processors/testing/gwt';
import { enrollmentClaims, unbackedClaims } from './enrollment';

describe('API enrollment rules (pure part)', () => {
  const grade = anEvent('grade.recorded', { studentUserId: 'S-1', sectionId: 'SEC-1' }) as SchoolEvent;
  const marks = ['S-1', 'S-2'].map(
    (studentUserId) => anEvent('attendance.marked', { studentUserId, sectionId: 'SEC-1', status: 'PRESENT' }) as SchoolEvent,
  );

  it('grades, competency evaluations, marks, absences and tardies claim their student in their section; other commands claim nothing', () => {
    const events = [
      grade,
      anEvent('absence.recorded', { studentUserId: 'S-3', sectionId: 'SEC-2' }) as SchoolEvent,
      anEvent('tardiness.recorded', { studentUserId: 'S-4', sectionId: 'SEC-2' }) as SchoolEvent,
      anEvent('grade.updated') as SchoolEvent,
      anEvent('competency.evaluated', { studentUserId: 'S-5', sectionId: 'SEC-3' }) as SchoolEvent,
      anEvent('user.created') as SchoolEvent,
    ];
    expect(enrollmentClaims(events, (i) => `f${i}`)).to.deep.equal([
      { rule: 'GRADE_STUDENT_NOT_ENROLLED', studentUserId: 'S-1', sectionId: 'SEC-1', field: 'f0' },
      { rule: 'ATTENDANCE_STUDENT_NOT_ENROLLED', studentUserId: 'S-3', sectionId: 'SEC-2', field: 'f1' },
      { rule: 'ATTENDANCE_STUDENT_NOT_ENROLLED', studentUserId: 'S-4', sectionId: 'SEC-2', field: 'f2' },
      { rule: 'GRADE_STUDENT_NOT_ENROLLED', studentUserId: 'S-5', sectionId: 'SEC-3', field: 'f4' },
    ]);
  });

  it('a claim without a COMPLETED enrollment in that very section is an error naming the rule and the field', () => {
    const claims = enrollmentClaims([grade], () => 'body.studentUserId');
    expect(unbackedClaims(claims, new Map([['SEC-1', new Set(['S-1'])]]))).to.deep.equal([]);
    expect(unbackedClaims(claims, new Map([['SEC-2', new Set(['S-1'])]]))).to.deep.equal([
      {
        field: 'body.studentUserId',
        message: 'student S-1 has no COMPLETED enrollment in section SEC-1',
        rule: 'GRADE_STUDENT_NOT_ENROLLED',
      },
    ]);
  });

  it('mark-present names each student without one by position', () => {
    const claims = enrollmentClaims(marks, (i) => `body.studentUserIds[${i}]`);
    expect(unbackedClaims(claims, new Map([['SEC-1', new Set(['S-1'])]])).map((e) => [e.field, e.rule])).to.deep.equal([
      ['body.studentUserIds[1]', 'ATTENDANCE_STUDENT_NOT_ENROLLED'],
    ]);
  });
});
