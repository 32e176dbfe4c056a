import path from 'node:path';
import type { Rules } from '../../lib/config';
import type { ProcessorManifest } from '../manifest';
import type { PostgresProcessor } from '../runtime/types';
import { parkedGauges } from '../shared/enrolled';
import { assignmentsFold, assignmentsLockKeys, assignmentsSharedLockKeys, HANDLES } from './projection';
import { topicsOf } from '../runtime/topics';

/**
 * assignments: store PostgreSQL (assignments, schedules, workloads, conflicts); every event folded a chunk
 * at a time over the teachers' assignments and the schedules of the days concerned.
 * Emits schedule.conflict.detected and workload.updated. Parks an assignment or schedule until its teacher is known
 * as a TEACHER and its course as one of its section's (the gate, parked_events; facts.ts). On
 * user.personal-data.erased a teacher's removal reasons become the marker (processors/shared/erasure.ts).
 */
/** assignments as data (processors/manifest.ts). */
export const manifest = {
  name: 'assignments',
  store: 'postgres',
  topics: topicsOf(HANDLES),
  handles: HANDLES,
  migrations: path.join(__dirname, 'migrations'),
} as const satisfies ProcessorManifest;

export function createAssignments(rules: Rules): PostgresProcessor {
  return {
    name: manifest.name,
    topics: manifest.topics,
    handles: manifest.handles,
    store: manifest.store,
    writer: 'instance', // merged chunks: fewer per-chunk transactions (measured on bench:pipeline, docs/decisions.md)
    fold: assignmentsFold(rules),
    lockKeys: assignmentsLockKeys,
    sharedLockKeys: assignmentsSharedLockKeys,
    gauges: parkedGauges(manifest.name, rules.parkedStaleMs),
  };
}

export const migrations = manifest.migrations;
