import path from 'node:path';
import type { PostgresProcessor } from '../runtime/types';
import { HANDLES, projectAcademic } from './projection';
import { topicsOf } from '../runtime/topics';

/**
 * academic: store PostgreSQL (relations: years, sections with seats, courses, enrollments
 * and their saga timeline; seat counting needs row locks and transactions).
 * Reads academic-events and the saga events of every topic; emits saga steps 3 and the end.
 */
export const academic: PostgresProcessor = {
  name: 'academic',
  topics: topicsOf(HANDLES),
  handles: HANDLES,
  store: 'postgres',
  writer: 'instance', // saga events of one section arrive on every partition and lock its seats
  project: projectAcademic,
  // No up-front chunk locks (lockKeys) here: measured with npm run bench:saga, taking every enrollment lock of a
  // chunk first serialised academic's chunks (27 sagas/s, p99 59 s) more than per-event locking (35/s, p99 43 s).
};

export const migrations = path.join(__dirname, 'migrations');

// `node dist/processors/academic` runs this processor on its own (imported lazily: run.ts imports this file).
if (require.main === module) void import('../run').then((m) => m.runMain(['academic']));
