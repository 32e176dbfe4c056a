import crypto from 'node:crypto';
import type { Clock } from '../lib/clock';
import { UnknownEventTypeError } from '../lib/errors';
import { EVENT_DEFINITIONS, type EventMetadata, type EventPayloads, type EventType, type SchoolEvent } from './generated/events';

export interface EventContext {
  sourceService: string;
  /** Defaults to the new event's own id: a command starts a new flow. */
  correlationId?: string;
  causationId?: string | null;
  metadata?: Partial<EventMetadata>;
  eventId?: string;
  clock: Clock;
}

const EMPTY_METADATA: EventMetadata = { triggeredBy: null, ipAddress: null, userAgent: null, requestId: null, traceparent: null };

/** A deterministic UUID (version 5 layout, SHA-1 of the parts): the same cause always yields the same derived event id. */
export function deterministicEventId(...parts: string[]): string {
  const h = crypto.createHash('sha1').update(parts.join('\u001f')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Fills in the envelope: id, time, source, aggregate (from the payload's id field), correlation. */
export function buildEvent<T extends EventType>(eventType: T, payload: EventPayloads[T], ctx: EventContext): SchoolEvent<T> {
  const def = EVENT_DEFINITIONS[eventType] as (typeof EVENT_DEFINITIONS)[EventType] | undefined;
  if (!def) throw new UnknownEventTypeError(`unknown event type ${JSON.stringify(eventType)}`);
  const eventId = ctx.eventId ?? crypto.randomUUID();
  const aggregateId = (payload as unknown as Record<string, unknown>)[def.aggregateIdField];
  const event = {
    eventId,
    eventType,
    eventVersion: '1.0',
    timestamp: ctx.clock.now().toISOString(),
    sourceService: ctx.sourceService,
    correlationId: ctx.correlationId ?? eventId,
    causationId: ctx.causationId ?? null,
    aggregateId: typeof aggregateId === 'string' ? aggregateId : '',
    aggregateType: def.aggregateType,
    metadata: { ...EMPTY_METADATA, ...ctx.metadata },
    payload,
  };
  return event;
}

/**
 * An event caused by another: same correlationId, causationId = the cause's eventId,
 * who triggered it, the request id and the trace carried over, and a deterministic id so a
 * re-emission is the same event. The caller's IP address and user agent stay on the command's own
 * event: they are personal data (encrypted on the wire), and copying them into every derived event
 * spread them over every topic and cost an encryption and decryption per event and hop.
 * `discriminator` tells apart several events of one type caused by one event.
 */
export function causedBy<T extends EventType>(
  cause: SchoolEvent,
  eventType: T,
  payload: EventPayloads[T],
  ctx: { sourceService: string; clock: Clock; discriminator?: string },
): SchoolEvent<T> {
  return buildEvent(eventType, payload, {
    sourceService: ctx.sourceService,
    clock: ctx.clock,
    correlationId: cause.correlationId,
    causationId: cause.eventId,
    metadata: { ...cause.metadata, ipAddress: null, userAgent: null },
    eventId: deterministicEventId(cause.eventId, eventType, ctx.discriminator ?? ''),
  });
}
