import path from 'node:path';
import type { PostgresProcessor } from '../runtime/types';
import { academicFold, HANDLES } from './fold';
import { topicsOf } from '../runtime/topics';
import { SAGA_GAUGES } from './metrics';
import { sagaDeadlinesTask } from './deadlines';

/**
 * academic: store PostgreSQL (relations: years, sections with seats, courses, enrollments
 * and their saga timeline; seat counting needs one writer per section at a time).
 * Reads academic-events and the saga events of every topic; emits saga steps 3 and the end.
 * Every event is folded a chunk at a time (load → fold → flush, fold.ts); saga events that overtook
 * their cause wait in the causal inbox (inbox.ts).
 */
export const academic: PostgresProcessor = {
  name: 'academic',
  topics: topicsOf(HANDLES),
  handles: HANDLES,
  store: 'postgres',
  writer: 'instance', // saga events of one section arrive on every partition and change its seats
  fold: academicFold,
  gauges: SAGA_GAUGES, // the saga's state as metrics (processors/academic/metrics.ts)
  tasks: [sagaDeadlinesTask], // a saga without progress for SAGA_DEADLINE_MS fails (deadlines.ts)
};

export const migrations = path.join(__dirname, 'migrations');
