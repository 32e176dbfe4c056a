import path from 'node:path';
import type { ProcessorManifest } from '../manifest';
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
/** academic as data (processors/manifest.ts). */
export const manifest = {
  name: 'academic',
  store: 'postgres',
  topics: topicsOf(HANDLES),
  handles: HANDLES,
  migrations: path.join(__dirname, 'migrations'),
  tasks: ['saga-deadlines'],
} as const satisfies ProcessorManifest;

export const academic: PostgresProcessor = {
  name: manifest.name,
  topics: manifest.topics,
  handles: manifest.handles,
  store: manifest.store,
  writer: 'instance', // saga events of one section arrive on every partition and change its seats
  fold: academicFold,
  gauges: SAGA_GAUGES, // the saga's state as metrics (processors/academic/metrics.ts)
  tasks: [sagaDeadlinesTask], // a saga without progress for SAGA_DEADLINE_MS fails (deadlines.ts)
};

export const migrations = manifest.migrations;
