import type { Config } from '../lib/config';
import { projectionDb, projectionSchema } from '../processors/runtime/names';
import { EVENT_DEFINITIONS, type EventType } from '../schemas/generated/events';

/** Where the API finds the live read models and topics; tests point it at an isolated copy. */
export interface Locator {
  pgSchema(name: string): string;
  mongoDb: string;
  group(processor: string): string;
  topic(eventType: EventType): string;
  /** The physical name of a catalog topic (a domain topic, or its .dlq / .parked companion). */
  topicName(catalogTopic: string): string;
}

export const liveLocator = (config: Config): Locator => ({
  pgSchema: (name) => (name === 'api' ? 'api' : projectionSchema(name)),
  mongoDb: projectionDb(config),
  group: (p) => p,
  topic: (t) => EVENT_DEFINITIONS[t].topic,
  topicName: (t) => t,
});
