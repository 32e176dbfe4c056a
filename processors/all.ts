import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { academic } from './academic';
import { createAssignments } from './assignments';
import { createAttendance } from './attendance';
import { createGrades } from './grades';
import { createChannels } from './notifications/channels';
import { createNotifications } from './notifications';
import type { ProcessorDefinition } from './runtime/types';
import { systemClock } from '../lib/clock';
import { createUsers } from './users';

// What the processors are, as data (names, migrations, lookups): processors/manifest.ts.
export { mongoLookups, PG_MIGRATIONS, PROCESSOR_NAMES } from './manifest';

/**
 * The composition root: every processor of the pipeline as a runnable definition, built from validated config
 * with its adapters (notification channels), in the manifest's order. Only what runs processors calls it.
 */
export function createProcessors(config: Config, logger: Logger): ProcessorDefinition[] {
  return [
    createUsers(config.rules, systemClock),
    academic,
    createAssignments(config.rules),
    createGrades(config.rules),
    createAttendance(config.rules),
    createNotifications(createChannels(config, logger.child({ channel: 'notifications' })), config),
  ];
}
