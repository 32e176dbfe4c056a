import { EXAMPLE_PAYLOADS } from '../../schemas/examples';
import type { TestPipeline } from './pipeline';

/**
 * The example academic year and a section of it with one course; with a teacher, also that course's schedule
 * (a saga then completes; without one it fails at INITIALIZE_ATTENDANCE). Published straight to the run's topics.
 */
export async function seedSection(p: TestPipeline, o: { sectionId: string; courseId?: string; teacherUserId?: string }): Promise<void> {
  const courseId = o.courseId ?? EXAMPLE_PAYLOADS['course.assigned'].courseId;
  await p.publish('academic.year.started', EXAMPLE_PAYLOADS['academic.year.started']);
  await p.publish('section.created', { ...EXAMPLE_PAYLOADS['section.created'], sectionId: o.sectionId });
  await p.publish('course.assigned', { ...EXAMPLE_PAYLOADS['course.assigned'], sectionId: o.sectionId, courseId });
  if (o.teacherUserId)
    await p.publish('schedule.created', {
      ...EXAMPLE_PAYLOADS['schedule.created'],
      sectionId: o.sectionId,
      courseId,
      teacherUserId: o.teacherUserId,
    });
}
