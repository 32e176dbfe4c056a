/**
 * The rules of the school that have a stable code: the API answers a command breaking one with a 400 naming
 * it (`errors[].rule`; 409 for one decided from the read models), a processor dead-letters an event breaking one with it in `dlq.rule`. Each is listed
 * in docs/invariants.md (a unit test keeps the two in step).
 */
export const INVARIANTS = {
  GRADE_MAX_SCORE: "A grade's maxScore is a finite number, > 0 and at most RULE_MAX_SCORE (1000 by default).",
  GRADE_SCORE_RANGE: "A grade's score, and a correction's newScore, is a finite number within 0..maxScore.",
  GRADE_DUPLICATE: 'A grade id is recorded once; a change to it is a correction (grade.updated).',
  GRADE_STUDENT_NOT_ENROLLED: 'A grade or competency evaluation is recorded for a student enrolled in its section.',
  GRADE_COURSE_NOT_IN_SECTION: "A grade's or competency evaluation's course is one of its section's courses.",
  GRADE_PERIOD_NOT_IN_YEAR: "A grade's or competency evaluation's period is a grading period of its section's academic year.",
  GRADE_RECORDER_NOT_TEACHING:
    'A teacher records grades and evaluations only for a course they are assigned to in that section (admins for any).',
  GRADE_CORRECTION_UNKNOWN: 'A correction refers to an existing grade, of the same student, course and period.',
  ATTENDANCE_MARK_FIXED: 'A correction of an attendance mark keeps its student, date and section.',
  ATTENDANCE_STUDENT_NOT_ENROLLED: 'An attendance mark, absence or tardiness is recorded for a student enrolled in its section.',
  ATTENDANCE_DATE_IN_FUTURE:
    'An attendance mark, absence or tardiness is not dated after today in every time zone (UTC+14, the API clock).',
  ATTENDANCE_DATE_OUTSIDE_YEAR: "An attendance mark, absence or tardiness is dated within its section's academic year.",
  ATTENDANCE_NOT_A_SCHOOL_DAY:
    "An attendance mark, absence or tardiness is dated on a day of the week on which its section's schedule has a slot.",
  TARDINESS_MINUTES: 'A tardiness lasts at least one minute (minutesLate > 0).',
  ABSENCE_JUSTIFY_UNKNOWN: 'A justification refers to an existing absence of the same student.',
  PARENT_LINK_NOT_PARENT: 'A parent link names an existing user of type PARENT as the parent.',
  PARENT_LINK_NOT_STUDENT: 'A parent link names an existing user of type STUDENT as the student.',
  USER_ROLES_NOT_OF_TYPE:
    "A user's roles fit the user type: STUDENT {STUDENT}, PARENT {PARENT}, TEACHER {TEACHER, ADMIN}, ADMIN {ADMIN}; none is a revoked account.",
  USER_UNKNOWN: 'A role change names an existing user.',
  USER_DEACTIVATED: 'A deactivated user is not given roles, linked, assigned to teach, scheduled or sent a notification.',
  TEACHER_NOT_A_TEACHER: 'A teacher assignment or schedule names an existing user of type TEACHER as the teacher.',
  ASSIGNMENT_COURSE_NOT_IN_SECTION: "A teacher assignment's or schedule's course is one of its section's courses.",
  SCHEDULE_SLOT_INVALID: "A schedule's slot ends after it starts, within the school day (RULE_SCHOOL_DAY, 00:00-24:00 by default).",
  NOTIFICATION_RECIPIENT_UNKNOWN: 'A notification is requested for an existing user.',
  NOTIFICATION_NO_ADDRESS:
    "A notification has an address for its channel: WEBHOOK the request's address, EMAIL the request's or the recipient's email, LOG none.",
  TRANSFER_NOT_COMPLETED: 'Only a COMPLETED enrollment is transferred.',
  TRANSFER_SECTION_UNKNOWN: 'A transfer goes to an existing section.',
  TRANSFER_SECTION_FULL: 'A transfer goes to a section with a free seat.',
} as const;

export type RuleCode = keyof typeof INVARIANTS;
