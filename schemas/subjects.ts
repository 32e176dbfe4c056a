import { EVENT_DEFINITIONS, type EventType } from './generated/events';

/** Record-name-per-topic strategy: `<topic>-<fully.qualified.Record>`. */
export const subjectOf = (eventType: EventType): string =>
  `${EVENT_DEFINITIONS[eventType].topic}-${EVENT_DEFINITIONS[eventType].recordName}`;
