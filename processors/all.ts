import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { academic, migrations as academicMigrations } from './academic';
import { createAssignments, migrations as assignmentsMigrations } from './assignments';
import { createAttendance, migrations as attendanceMigrations } from './attendance';
import { createGrades, migrations as gradesMigrations } from './grades';
import { createChannels } from './notifications/channels';
import { createNotifications } from './notifications';
import type { Lookup, ProcessorDefinition } from './runtime/types';
import { users } from './users';

/** The processors' names, for command lines and harnesses that need them before any config is loaded. */
export const PROCESSOR_NAMES: readonly string[] = ['users', 'academic', 'assignments', 'grades', 'attendance', 'notifications'];

/** Every processor of the pipeline, built from validated config (in PROCESSOR_NAMES' order). */
export function createProcessors(config: Config, logger: Logger): ProcessorDefinition[] {
  return [
    users,
    academic,
    createAssignments(config.rules),
    createGrades(config.rules),
    createAttendance(config.rules),
    createNotifications(createChannels(config, logger.child({ channel: 'notifications' })), config),
  ];
}

/** Versioned migrations of each Postgres projection (applied into its schema, see runtime/names.ts). */
export const PG_MIGRATIONS: Record<string, string> = {
  academic: academicMigrations,
  assignments: assignmentsMigrations,
  grades: gradesMigrations,
  attendance: attendanceMigrations,
};

/** What the Mongo processors look documents up by (FerretDB needs its own indexes for these: deploy/ferretdb). */
export function mongoLookups(defs: readonly ProcessorDefinition[]): Lookup[] {
  return defs.flatMap((d) => (d.store === 'mongo' ? (d.lookups ?? []) : []));
}
