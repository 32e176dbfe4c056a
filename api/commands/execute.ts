import crypto from 'node:crypto';
import type { Request } from 'express';
import { buildEvent } from '../../schemas/envelope';
import type { EventPayloads, EventType, SchoolEvent } from '../../schemas/generated/events';
import type { Identity } from '../auth/jwt';
import type { ApiDeps } from '../deps';
import { badRequest } from '../http/problem';
import { payloadRecord } from '../spec/build';
import { requestHash } from '../stores';
import type { EventStatus } from '../status';
import { ruleErrors } from './rules';

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Nullable payload fields the body left out are null in the event (Avro needs every field). */
export function withNulls(type: EventType, payload: Record<string, unknown>): Record<string, unknown> {
  const out = { ...payload };
  for (const f of payloadRecord(type).fields as Array<{ name: string; type: unknown }>)
    if (out[f.name] === undefined && Array.isArray(f.type) && f.type.includes('null')) out[f.name] = null;
  return out;
}

/** A command event with the caller and request in its metadata; the enrollment saga correlates on the enrollment id. */
export function commandEvent<T extends EventType>(
  deps: ApiDeps,
  req: Request,
  who: Identity,
  type: T,
  payload: Record<string, unknown>,
): SchoolEvent<T> {
  const p = withNulls(type, payload) as unknown as EventPayloads[T];
  const errors = ruleErrors(type, p, deps.config.rules, deps.clock.now());
  if (errors.length) throw badRequest(`the ${type} command breaks a business rule`, errors);
  const correlation = type === 'student.enrolled' || type === 'student.transferred' ? String(payload.enrollmentId) : undefined;
  const event = buildEvent(type, p, {
    sourceService: 'api',
    clock: deps.clock,
    correlationId: correlation,
    metadata: {
      triggeredBy: who.sub,
      ipAddress: req.ip ?? null,
      userAgent: req.get('user-agent')?.slice(0, 500) ?? null,
      requestId: (res(req).requestId as string | undefined) ?? null,
      traceparent: (res(req).traceparent as string | null | undefined) ?? null, // api/metrics.ts, traceRequests
    },
  });
  deps.codec.validate(event as SchoolEvent); // EventValidationError → 400 naming the fields, before anything is claimed or sent
  return event;
}

const res = (req: Request): Record<string, unknown> => (req.res?.locals ?? {}) as Record<string, unknown>;

export const newId = (): string => crypto.randomUUID();

function waitSeconds(prefer: string | undefined, max: number): number | undefined {
  const m = /(?:^|[,;\s])wait=(\d{1,4})(?:$|[,;\s])/.exec(prefer ?? '');
  return m ? Math.min(Number(m[1]), max) : undefined;
}

async function waitApplied(deps: ApiDeps, events: SchoolEvent[], seconds: number): Promise<EventStatus[]> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const all = await Promise.all(events.map((e) => deps.guard.run('events', () => deps.status.status(e.eventId, e.eventType))));
    if (all.every((s) => s.complete) || Date.now() >= deadline) return all;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Publishes a command's events (after the broker acknowledged them) and answers 202 with
 * where to follow them; with an Idempotency-Key the first answer is kept and replayed;
 * with `Prefer: wait=N` the answer waits until the affected read models applied them.
 * `check`: rules decided from the read models, run once the key is claimed (a replay answers
 * as the first request did, whatever the read models say now) and before anything is published.
 */
export async function execute(
  deps: ApiDeps,
  req: Request,
  who: Identity,
  operationId: string,
  events: SchoolEvent[],
  location: string,
  check?: () => Promise<void>,
): Promise<Answer> {
  const key = req.get('idempotency-key');
  if (key) {
    const claim = await deps.guard.run('events', () =>
      deps.idempotency.claim(who.sub, key, requestHash(`${operationId} ${req.path}`, req.body)),
    );
    if (claim !== 'claimed')
      return { status: claim.status, body: claim.body, headers: { Location: claim.location, 'Idempotent-Replayed': 'true' } };
  }
  const first = events[0]!;
  const body = { eventId: first.eventId, eventIds: events.map((e) => e.eventId), correlationId: first.correlationId, location };
  try {
    await check?.();
    await deps.guard.run('publish', () => deps.publisher.publish(...events));
  } catch (e) {
    if (key) await deps.idempotency.release(who.sub, key).catch(() => undefined);
    throw e;
  }
  // From here the events exist: record them and the answer; a failure now must not make the client publish twice.
  try {
    await deps.commands.record(
      events.map((e) => ({ eventId: e.eventId, eventType: e.eventType, correlationId: e.correlationId, issuedBy: who.sub })),
    );
    if (key) await deps.idempotency.complete(who.sub, key, { status: 202, body, location });
  } catch (e) {
    deps.logger.error('published, but could not record the command', {
      eventId: first.eventId,
      error: e instanceof Error ? e.message : String(e),
    });
  }
  const wait = waitSeconds(req.get('prefer'), deps.config.api.maxWaitSeconds);
  if (wait === undefined) return { status: 202, body, headers: { Location: location } };
  const statuses = await waitApplied(deps, events, wait);
  const status: EventStatus = {
    eventId: first.eventId,
    eventType: first.eventType,
    applied: Object.assign({}, ...statuses.map((s) => s.applied)) as Record<string, boolean>,
    complete: statuses.every((s) => s.complete),
  };
  return { status: 202, body: { ...body, status }, headers: { Location: location, 'Preference-Applied': `wait=${wait}` } };
}
