import path from 'node:path';
import type { Rules } from '../../lib/config';
import type { PostgresProcessor } from '../runtime/types';
import { gradesFold, gradesLockKeys, HANDLES, projectGrades } from './projection';
import { topicsOf } from '../runtime/topics';

/**
 * grades: store PostgreSQL (grade records and averages are relational and recomputed
 * with aggregate reads). Emits period.average.calculated, student.performance.alert and saga step 4.
 */
export function createGrades(rules: Rules): PostgresProcessor {
  return {
    name: 'grades',
    topics: topicsOf(HANDLES),
    handles: HANDLES,
    store: 'postgres',
    writer: 'instance', // its chunks on different partitions lock the same students' rows
    project: projectGrades,
    fold: gradesFold(rules),
    lockKeys: gradesLockKeys,
  };
}

export const migrations = path.join(__dirname, 'migrations');
