import path from 'node:path';
import type { Rules } from '../../lib/config';
import type { PostgresProcessor } from '../runtime/types';
import { assignmentsFold, assignmentsLockKeys, HANDLES, projectAssignments } from './projection';
import { topicsOf } from '../runtime/topics';

/**
 * assignments: store PostgreSQL (overlap checks and workload sums are range and
 * aggregate queries under locks; enrollments and conflicts are folded a chunk at a time).
 * Emits schedule.conflict.detected and workload.updated.
 */
export function createAssignments(rules: Rules): PostgresProcessor {
  return {
    name: 'assignments',
    topics: topicsOf(HANDLES),
    handles: HANDLES,
    store: 'postgres',
    writer: 'instance', // merged chunks: fewer per-chunk transactions (measured on bench:pipeline, docs/decisions.md)
    project: projectAssignments(rules),
    fold: assignmentsFold,
    lockKeys: assignmentsLockKeys,
  };
}

export const migrations = path.join(__dirname, 'migrations');
