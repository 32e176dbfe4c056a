import type { EventType, SagaStep } from '../../schemas/generated/events';

/** Where each saga event sits on an enrollment's timeline (DOMAIN.md, the enrollment saga). */
export const SAGA_TIMELINE: Partial<
  Record<EventType, { step: SagaStep; outcome: 'STARTED' | 'SUCCEEDED' | 'FAILED' | 'COMPENSATED' | 'WARNING' | 'TIMED_OUT' }>
> = {
  'student.enrolled': { step: 'CREATE_ENROLLMENT', outcome: 'SUCCEEDED' },
  'enrollment.user.validated': { step: 'VALIDATE_USER', outcome: 'SUCCEEDED' },
  'enrollment.user.validation.failed': { step: 'VALIDATE_USER', outcome: 'FAILED' },
  'enrollment.user.validation.compensated': { step: 'VALIDATE_USER', outcome: 'COMPENSATED' },
  'enrollment.section.assigned': { step: 'ASSIGN_TO_SECTION', outcome: 'SUCCEEDED' },
  'enrollment.section.assignment.failed': { step: 'ASSIGN_TO_SECTION', outcome: 'FAILED' },
  'enrollment.section.assignment.compensated': { step: 'ASSIGN_TO_SECTION', outcome: 'COMPENSATED' },
  'enrollment.grades.initialized': { step: 'INITIALIZE_GRADES', outcome: 'SUCCEEDED' },
  'enrollment.grades.initialization.failed': { step: 'INITIALIZE_GRADES', outcome: 'FAILED' },
  'enrollment.grades.compensated': { step: 'INITIALIZE_GRADES', outcome: 'COMPENSATED' },
  'enrollment.attendance.initialized': { step: 'INITIALIZE_ATTENDANCE', outcome: 'SUCCEEDED' },
  'enrollment.attendance.initialization.failed': { step: 'INITIALIZE_ATTENDANCE', outcome: 'FAILED' },
  'enrollment.welcome.sent': { step: 'SEND_WELCOME_NOTIFICATION', outcome: 'SUCCEEDED' },
  'enrollment.welcome.failed': { step: 'SEND_WELCOME_NOTIFICATION', outcome: 'WARNING' },
  'enrollment.compensated': { step: 'CREATE_ENROLLMENT', outcome: 'COMPENSATED' },
  'enrollment.completed': { step: 'COMPLETE_ENROLLMENT', outcome: 'SUCCEEDED' },
  'enrollment.failed': { step: 'COMPLETE_ENROLLMENT', outcome: 'FAILED' },
  // The step recorded is the stalled one, from the payload.
  'enrollment.deadline.expired': { step: 'COMPLETE_ENROLLMENT', outcome: 'TIMED_OUT' },
};

export const SAGA_EVENT_TYPES = Object.keys(SAGA_TIMELINE) as EventType[];
