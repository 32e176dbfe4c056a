import type { Role } from './jwt';

/**
 * What each role may do, per operation: the whole permission matrix in one place.
 *  any         — allowed
 *  self        — only when the subject is the caller
 *  child       — the caller, or a student the caller (a parent) is linked to
 *  taught      — the caller, or a student actively enrolled in a section the caller (a teacher) is assigned to
 *  own-section — the subject is a section the caller (a teacher) is assigned to
 * A role missing from a rule is refused (403). `subject` says where the rule's subject is;
 * `resource` means the handler supplies it after loading the resource (e.g. the saga's student).
 */
export type Scope = 'any' | 'self' | 'child' | 'taught' | 'own-section';
export interface Rule {
  roles: Partial<Record<Role, Scope>>;
  subject?: { in: 'path' | 'body' | 'resource'; name: string };
}

const admin: Rule = { roles: { admin: 'any' } };
const everyone: Rule = { roles: { admin: 'any', teacher: 'any', student: 'any', parent: 'any' } };
const teacherOfSection: Rule = { roles: { admin: 'any', teacher: 'own-section' }, subject: { in: 'body', name: 'sectionId' } };
const studentData = (name: string, at: 'path' | 'resource' = 'path'): Rule => ({
  roles: { admin: 'any', student: 'self', parent: 'child', teacher: 'taught' },
  subject: { in: at, name },
});
const owner = (name: string): Rule => ({
  roles: { admin: 'any', teacher: 'self', student: 'self', parent: 'self' },
  subject: { in: 'resource', name },
});

export const PERMISSIONS: Record<string, Rule> = {
  // users
  createUser: admin,
  updateUser: admin,
  deactivateUser: admin,
  changeUserRole: admin,
  linkParent: admin,
  eraseUser: admin,
  getUser: studentData('userId'),
  getStudent360: studentData('userId'),
  listUsersByType: admin,
  bulkValidateUsers: { roles: { admin: 'any', teacher: 'any' } },
  // academic
  startAcademicYear: admin,
  createSection: admin,
  assignCourse: admin,
  enrollStudent: admin,
  transferStudent: admin,
  getSection: everyone,
  getCourse: everyone,
  listStudentEnrollments: studentData('studentId'),
  getEnrollmentSaga: { roles: { admin: 'any', student: 'self', parent: 'child' }, subject: { in: 'resource', name: 'studentUserId' } },
  listEnrollments: admin,
  // assignments
  assignTeacher: admin,
  removeTeacherAssignment: admin,
  createSchedule: admin,
  listTeacherCourses: { roles: { admin: 'any', teacher: 'self' }, subject: { in: 'path', name: 'teacherId' } },
  listSectionTeachers: everyone,
  validateAvailability: admin,
  // grades: teachers write only for sections they are assigned to
  recordGrade: teacherOfSection,
  updateGrade: teacherOfSection,
  evaluateCompetency: teacherOfSection,
  calculateAverage: everyone,
  getStudentPeriodGrades: studentData('studentId'),
  // attendance
  markAttendance: teacherOfSection,
  recordAbsence: teacherOfSection,
  recordTardiness: teacherOfSection,
  markPresent: teacherOfSection,
  justifyAbsence: { roles: { admin: 'any', parent: 'child' }, subject: { in: 'body', name: 'studentUserId' } },
  getAttendanceSummary: studentData('studentId'),
  // notifications
  requestNotification: admin,
  sendImmediate: admin,
  bulkNotification: admin,
  getTemplate: everyone,
  getNotification: owner('recipientUserId'),
  // read-your-writes: who issued the command (an admin may look up any event a processor applied)
  getEventStatus: owner('issuedBy'),
  // operator console: lag and heartbeats, dead letters, replay builds
  listProcessorStatus: admin,
  listDeadLetters: admin,
  getDeadLetter: admin,
  redriveDeadLetters: admin,
  listReplayBuilds: admin,
  getEnrollmentTrace: admin,
};
