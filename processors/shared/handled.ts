import type { EventType, SchoolEvent } from '../../schemas/generated/events';

/**
 * Narrows an event to the types a processor declared. The runtime only passes declared
 * types to `project`, so this never throws in practice; the narrow type is what lets
 * each processor's switch be checked for exhaustiveness.
 */
export function narrow<T extends EventType>(event: SchoolEvent, handles: readonly T[]): SchoolEvent<T> {
  if (!(handles as readonly string[]).includes(event.eventType)) throw new Error(`${event.eventType} is not handled here`);
  return event as SchoolEvent<T>;
}

/** The end of every switch over event types: adding a handled type without a case fails to compile. */
export function unhandled(event: never): never {
  throw new Error(`unhandled event ${JSON.stringify((event as { eventType?: string }).eventType)}`);
}
