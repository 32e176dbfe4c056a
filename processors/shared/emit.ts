import { causedBy } from '../../schemas/envelope';
import { derivedTraceparent } from '../../lib/tracing';
import type { EventPayloads, EventType, SchoolEvent } from '../../schemas/generated/events';
import type { ProjectContext } from '../runtime/types';

/** An event a pure handler wants emitted; the projection turns it into a full event caused by the input. */
export type EmitSpec = { [K in EventType]: { type: K; payload: EventPayloads[K]; discriminator?: string } }[EventType];

export function emit<K extends EventType>(type: K, payload: EventPayloads[K], discriminator?: string): EmitSpec {
  return { type, payload, discriminator } as EmitSpec;
}

/**
 * Same correlation, causation = the input, deterministic ids (type + discriminator); the trace context names
 * this processor's span for the input as the parent (lib/tracing.ts, derivedTraceparent).
 */
export function toEvents(cause: SchoolEvent, specs: EmitSpec[], ctx: ProjectContext): SchoolEvent[] {
  const traceparent = derivedTraceparent(ctx.processor, cause);
  return specs.map((s) => {
    const e = causedBy(cause, s.type, s.payload as never, {
      sourceService: `processor:${ctx.processor}`,
      clock: ctx.clock,
      discriminator: s.discriminator,
    });
    return traceparent ? { ...e, metadata: { ...e.metadata, traceparent } } : e;
  });
}
