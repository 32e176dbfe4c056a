import path from 'node:path';
import type { Rules } from '../../lib/config';
import type { ProcessorManifest } from '../manifest';
import type { PostgresProcessor } from '../runtime/types';
import { parkedGauges } from '../shared/enrolled';
import { gradesFold, gradesLockKeys, gradesSharedLockKeys, HANDLES } from './projection';
import { topicsOf } from '../runtime/topics';

/**
 * grades: store PostgreSQL (grade records, running sums per student/course/period, the sections' courses
 * and periods, step 4's base records). Every event folded a chunk at a time. Emits
 * period.average.calculated, student.performance.alert and saga step 4. Grades and competency evaluations are parked until academic's
 * events make their facts known: the student enrolled in the section, the course one of the section's, the period one of
 * its year's (processors/shared/gate.ts).
 * On user.personal-data.erased the person's comments, in rows and parked events, become the marker (processors/shared/erasure.ts).
 */
/** grades as data (processors/manifest.ts). */
export const manifest = {
  name: 'grades',
  store: 'postgres',
  topics: topicsOf(HANDLES),
  handles: HANDLES,
  migrations: path.join(__dirname, 'migrations'),
} as const satisfies ProcessorManifest;

export function createGrades(rules: Rules): PostgresProcessor {
  return {
    name: manifest.name,
    topics: manifest.topics,
    handles: manifest.handles,
    store: manifest.store,
    writer: 'instance', // its chunks on different partitions lock the same students' rows
    fold: gradesFold(rules),
    lockKeys: gradesLockKeys,
    sharedLockKeys: gradesSharedLockKeys,
    gauges: parkedGauges(manifest.name, rules.parkedStaleMs),
  };
}

export const migrations = manifest.migrations;
