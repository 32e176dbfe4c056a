import type { PoolClient } from 'pg';
import { columns } from '../runtime/columns';
import type { AssignmentsState } from './fold';

/** A chunk's folded rows: one statement per table, merged with what is stored as the per-event path did. */
export async function flushAssignments(tx: PoolClient, state: AssignmentsState): Promise<void> {
  if (state.eligible.size)
    await tx.query(
      `insert into eligible_sections (section_id, first_enrollment_at) select * from unnest($1::text[], $2::timestamptz[])
       on conflict (section_id) do update set first_enrollment_at = least(eligible_sections.first_enrollment_at, excluded.first_enrollment_at)`,
      [[...state.eligible.keys()], [...state.eligible.values()]],
    );
  const conflicts = [...state.conflicts.values()];
  if (conflicts.length)
    await tx.query(
      `insert into conflicts (schedule_id, conflicting_schedule_id, conflict_type, detected_at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) on conflict do nothing`,
      columns(conflicts, ['scheduleId', 'conflictingScheduleId', 'conflictType', 'detectedAt']),
    );
}
