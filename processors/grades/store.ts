import type { PoolClient } from 'pg';
import type { EvaluationType, SchoolEvent } from '../../schemas/generated/events';
import { columns } from '../runtime/columns';
import { averageKeyOf, gradeCount, type AverageKey, type AverageState, type StoredGrade, type TypeSums } from './fold';

/** What a chunk of grade events needs and changes: loaded once, folded in memory, flushed once. */
export interface GradesState {
  grades: Map<string, StoredGrade>;
  averages: Map<string, AverageKey & AverageState & { updatedAt?: string; averaged?: boolean }>;
  changedGrades: Set<string>;
  changedAverages: Set<string>;
}

type GradeEvent = SchoolEvent<'grade.recorded' | 'grade.updated'>;

/** The grades of the chunk by id, then the averages of their keys and of the events' keys: two queries. */
export async function loadGrades(tx: PoolClient, events: GradeEvent[]): Promise<GradesState> {
  if (!events.length) return { grades: new Map(), averages: new Map(), changedGrades: new Set(), changedAverages: new Set() };
  const ids = [...new Set(events.map((e) => e.payload.gradeId))];
  const grades = await tx.query<StoredGrade>(
    `select grade_id "gradeId", student_user_id "studentUserId", section_id "sectionId", course_id "courseId", period_id "periodId",
       evaluation_type "evaluationType", score, max_score "maxScore", recorded_by "recordedBy", comment,
       to_json(recorded_at) #>> '{}' "recordedAt", to_json(updated_at) #>> '{}' "updatedAt"
     from grades where grade_id = any($1::text[])`,
    [ids],
  );
  const keys = new Map<string, AverageKey>();
  for (const k of [...events.map((e) => e.payload), ...grades.rows]) keys.set(averageKeyOf(k), k);
  const list = [...keys.values()];
  const averages = await tx.query<AverageKey & { sectionId: string | null; average: number | null; sums: TypeSums | null }>(
    `select k.student_user_id "studentUserId", k.course_id "courseId", k.period_id "periodId", pa.section_id "sectionId", pa.average,
       (select jsonb_object_agg(gs.evaluation_type, jsonb_build_object('points', gs.points, 'grades', gs.grades)) from grade_sums gs
        where gs.student_user_id = k.student_user_id and gs.course_id = k.course_id and gs.period_id = k.period_id) sums
     from unnest($1::text[], $2::text[], $3::text[]) k (student_user_id, course_id, period_id)
     left join period_averages pa using (student_user_id, course_id, period_id)`,
    [list.map((k) => k.studentUserId), list.map((k) => k.courseId), list.map((k) => k.periodId)],
  );
  const state: GradesState = { grades: new Map(), averages: new Map(), changedGrades: new Set(), changedAverages: new Set() };
  for (const g of grades.rows) state.grades.set(g.gradeId, g);
  for (const a of averages.rows)
    if (a.sums)
      state.averages.set(averageKeyOf(a), {
        studentUserId: a.studentUserId,
        courseId: a.courseId,
        periodId: a.periodId,
        sectionId: a.sectionId ?? '',
        sums: a.sums,
        average: a.average ?? undefined,
      });
  return state;
}

/** Every changed grade, sum and average: one statement per table. */
export async function flushGrades(tx: PoolClient, state: GradesState): Promise<void> {
  const grades = [...state.changedGrades].map((id) => state.grades.get(id)!);
  if (grades.length)
    await tx.query(
      `insert into grades (grade_id, student_user_id, section_id, course_id, period_id, evaluation_type, score, max_score, recorded_by, comment, recorded_at, updated_at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[])
       on conflict (grade_id) do update set score = excluded.score, updated_at = excluded.updated_at`,
      columns(grades, [
        'gradeId',
        'studentUserId',
        'sectionId',
        'courseId',
        'periodId',
        'evaluationType',
        'score',
        'maxScore',
        'recordedBy',
        'comment',
        'recordedAt',
        'updatedAt',
      ]),
    );
  const averages = [...state.changedAverages].map((k) => state.averages.get(k)!);
  const sums = averages.flatMap((a) =>
    (Object.keys(a.sums) as EvaluationType[]).map((type) => ({ ...a, type, points: a.sums[type]!.points, grades: a.sums[type]!.grades })),
  );
  if (sums.length)
    await tx.query(
      `insert into grade_sums (student_user_id, course_id, period_id, evaluation_type, points, grades)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[])
       on conflict (student_user_id, course_id, period_id, evaluation_type) do update set points = excluded.points, grades = excluded.grades`,
      columns(sums, ['studentUserId', 'courseId', 'periodId', 'type', 'points', 'grades']),
    );
  const published = averages.filter((a) => a.averaged && a.average !== undefined).map((a) => ({ ...a, gradeCount: gradeCount(a.sums) }));
  if (published.length)
    await tx.query(
      `insert into period_averages (student_user_id, course_id, period_id, section_id, average, grade_count, updated_at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::int[], $7::timestamptz[])
       on conflict (student_user_id, course_id, period_id) do update set average = excluded.average, grade_count = excluded.grade_count,
         section_id = excluded.section_id, updated_at = greatest(period_averages.updated_at, excluded.updated_at)`,
      columns(published, ['studentUserId', 'courseId', 'periodId', 'sectionId', 'average', 'gradeCount', 'updatedAt']),
    );
}
