import path from 'node:path';
import type { PostgresProcessor } from '../runtime/types';
import { academicLockKeys, HANDLES, projectAcademic } from './projection';

/**
 * academic: store PostgreSQL (relations: years, sections with seats, courses, enrollments
 * and their saga timeline; seat counting needs row locks and transactions).
 * Reads academic-events and the saga events of every topic; emits saga steps 3 and the end.
 */
export const academic: PostgresProcessor = {
  name: 'academic',
  topics: ['academic-events', 'user-events', 'grades-events', 'attendance-events', 'notification-events'],
  handles: HANDLES,
  store: 'postgres',
  project: projectAcademic,
  lockKeys: academicLockKeys,
};

export const migrations = path.join(__dirname, 'migrations');

// `node dist/processors/academic` runs this processor on its own (imported lazily: run.ts imports this file).
if (require.main === module) void import('../run').then((m) => m.runMain(['academic']));
