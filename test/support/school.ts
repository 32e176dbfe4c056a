import { EXAMPLE_PAYLOADS } from '../../schemas/examples';
import { DayOfWeekValues } from '../../schemas/generated/events';
import type { TestPipeline } from './pipeline';

/**
 * The example academic year and a section of it with one course; with a teacher, also the teacher (a user of type
 * TEACHER, which assignments needs before it applies a schedule) and that course's schedule, every day (a saga then
 * completes; without one it fails at INITIALIZE_ATTENDANCE). Published straight to the run's topics.
 */
export async function seedSection(p: TestPipeline, o: { sectionId: string; courseId?: string; teacherUserId?: string }): Promise<void> {
  const courseId = o.courseId ?? EXAMPLE_PAYLOADS['course.assigned'].courseId;
  await p.publish('academic.year.started', EXAMPLE_PAYLOADS['academic.year.started']);
  await p.publish('section.created', { ...EXAMPLE_PAYLOADS['section.created'], sectionId: o.sectionId });
  await p.publish('course.assigned', { ...EXAMPLE_PAYLOADS['course.assigned'], sectionId: o.sectionId, courseId });
  if (p.host?.runners.some((r) => r.def.name === 'academic')) await p.sectionKnown(o.sectionId);
  if (!o.teacherUserId) return;
  // A lesson every day of the week (the example's slot on Monday, the same time on the others): attendance parks a
  // mark dated on a day its section has none (ATTENDANCE_NOT_A_SCHOOL_DAY), and tests mark any date.
  const slot = EXAMPLE_PAYLOADS['schedule.created'];
  await p.publish('user.created', {
    ...EXAMPLE_PAYLOADS['user.created'],
    userId: o.teacherUserId,
    userType: 'TEACHER',
    roles: ['TEACHER'],
    email: `${o.teacherUserId.toLowerCase()}@school.test`,
  });
  for (const dayOfWeek of DayOfWeekValues)
    await p.publish('schedule.created', {
      ...slot,
      scheduleId: `${slot.scheduleId}-${o.sectionId}-${dayOfWeek}`,
      sectionId: o.sectionId,
      courseId,
      teacherUserId: o.teacherUserId,
      dayOfWeek,
    });
  if (p.host?.runners.some((r) => r.def.name === 'assignments')) await p.schedulesKnown(o.sectionId, DayOfWeekValues.length);
}
