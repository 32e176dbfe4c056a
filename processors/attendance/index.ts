import path from 'node:path';
import type { Rules } from '../../lib/config';
import type { ProcessorManifest } from '../manifest';
import type { PostgresProcessor } from '../runtime/types';
import { parkedGauges } from '../shared/enrolled';
import { attendanceFold, attendanceLockKeys, attendanceSharedLockKeys, HANDLES } from './projection';
import { topicsOf } from '../runtime/topics';

/**
 * attendance: store PostgreSQL (marks by date, windowed counts and summaries are
 * relational queries). Emits attendance.pattern.alert and saga step 5. Marks, absences and tardies are parked until
 * their facts are known: the student enrolled in the section (academic), the date a school day of the section
 * (assignments' schedules) and within its academic year (academic); one dated outside the year stays parked
 * (processors/shared/gate.ts). One dated after the day of its own timestamp is dead-lettered.
 * On user.personal-data.erased the person's absence reasons and justifications, in rows and parked events, become
 * the marker (processors/shared/erasure.ts).
 */
/** attendance as data (processors/manifest.ts). */
export const manifest = {
  name: 'attendance',
  store: 'postgres',
  topics: topicsOf(HANDLES),
  handles: HANDLES,
  migrations: path.join(__dirname, 'migrations'),
} as const satisfies ProcessorManifest;

export function createAttendance(rules: Rules): PostgresProcessor {
  return {
    name: manifest.name,
    topics: manifest.topics,
    handles: manifest.handles,
    store: manifest.store,
    writer: 'instance', // its chunks on different partitions lock the same students' rows
    fold: attendanceFold(rules),
    lockKeys: attendanceLockKeys,
    sharedLockKeys: attendanceSharedLockKeys,
    gauges: parkedGauges(manifest.name, rules.parkedStaleMs),
  };
}

export const migrations = manifest.migrations;
