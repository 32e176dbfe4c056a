import { EVENT_DEFINITIONS, type EventType } from '../../schemas/generated/events';

/**
 * The topics a processor consumes: those its handled event types are published to, so a
 * handled type on a topic nobody subscribed to cannot be dropped silently.
 */
export function topicsOf(handles: readonly EventType[]): string[] {
  return [...new Set(handles.map((t) => EVENT_DEFINITIONS[t].topic))].sort();
}
