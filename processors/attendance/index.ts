import path from 'node:path';
import type { Rules } from '../../lib/config';
import type { PostgresProcessor } from '../runtime/types';
import { attendanceFold, attendanceLockKeys, HANDLES } from './projection';
import { topicsOf } from '../runtime/topics';

/**
 * attendance: store PostgreSQL (marks by date, windowed counts and summaries are
 * relational queries). Emits attendance.pattern.alert and saga step 5.
 */
export function createAttendance(rules: Rules): PostgresProcessor {
  return {
    name: 'attendance',
    topics: topicsOf(HANDLES),
    handles: HANDLES,
    store: 'postgres',
    writer: 'instance', // its chunks on different partitions lock the same students' rows
    fold: attendanceFold(rules),
    lockKeys: attendanceLockKeys,
  };
}

export const migrations = path.join(__dirname, 'migrations');
