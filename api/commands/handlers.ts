import type { Request } from 'express';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import type { Identity } from '../auth/jwt';
import type { ApiDeps } from '../deps';
import { COMMANDS, SPECIAL_COMMANDS, type CommandRoute } from '../spec/routes';
import { requireRules, type RequestField } from './checks';
import { eraseUser } from './erasure';
import { commandEvent, execute, newId, type Answer } from './execute';

type CommandHandler = (req: Request, who: Identity) => Promise<Answer>;

const eventLocation = (e: SchoolEvent): string =>
  e.eventType === 'student.enrolled' || e.eventType === 'student.transferred'
    ? `/api/v1/academic/enrollments/${encodeURIComponent(e.correlationId)}/saga`
    : `/api/v1/events/${e.eventId}`;

/** The payload of a command route: body + path id + caller as actor + generated id. */
export function commandPayload(c: CommandRoute, req: Request, who: Identity): Record<string, unknown> {
  const p: Record<string, unknown> = { ...(req.body as Record<string, unknown>) };
  if (c.pathId) p[c.pathId] = (req.params as Record<string, string>)[c.pathId];
  if (c.actorField) p[c.actorField] = who.sub;
  if (c.generatedId && p[c.generatedId] === undefined) p[c.generatedId] = newId();
  return p;
}

/** One handler per command endpoint, by operationId. */
export function commandHandlers(deps: ApiDeps): Record<string, CommandHandler> {
  const handlers: Record<string, CommandHandler> = {};
  const one =
    (
      type: EventType,
      payloadOf: (req: Request, who: Identity) => Record<string, unknown>,
      operationId: string,
      pathId?: string,
    ): CommandHandler =>
    async (req, who) => {
      const e = commandEvent(deps, req, who, type, payloadOf(req, who));
      const field: RequestField = (_, name) => (name === pathId ? `path.${name}` : `body.${name}`);
      return execute(deps, req, who, operationId, [e], eventLocation(e), () => requireRules(deps, who, [e], field));
    };
  for (const c of COMMANDS) handlers[c.operationId] = one(c.eventType, (req, who) => commandPayload(c, req, who), c.operationId, c.pathId);

  const s = SPECIAL_COMMANDS;
  handlers[s.sendImmediate.operationId] = one(
    'notification.requested',
    (req) => ({ notificationId: newId(), ...(req.body as Record<string, unknown>), priority: 'HIGH', bulkId: null }),
    s.sendImmediate.operationId,
  );
  handlers[s.markPresent.operationId] = async (req, who) => {
    const b = req.body as { sectionId: string; date: string; studentUserIds: string[] };
    const events = b.studentUserIds.map(
      (studentUserId) =>
        commandEvent(deps, req, who, 'attendance.marked', {
          attendanceId: newId(),
          studentUserId,
          sectionId: b.sectionId,
          date: b.date,
          status: 'PRESENT',
          markedBy: who.sub,
        }) as SchoolEvent,
    );
    return execute(deps, req, who, s.markPresent.operationId, events, eventLocation(events[0]!), () =>
      requireRules(deps, who, events, (i, name) => (name === 'studentUserId' ? `body.studentUserIds[${i}]` : `body.${name}`)),
    );
  };
  handlers[s.bulkNotification.operationId] = async (req, who) => {
    const { recipientUserIds, variables, ...rest } = req.body as { recipientUserIds: string[]; variables: Record<string, string> } & Record<
      string,
      unknown
    >;
    const bulkId = newId();
    const events = recipientUserIds.map(
      (recipientUserId) =>
        commandEvent(deps, req, who, 'notification.requested', {
          ...rest,
          notificationId: newId(),
          recipientUserId,
          address: null,
          bulkId,
          // The notifications processor completes the bulk once this many reached a final state.
          variables: { ...variables, _bulkTotal: String(recipientUserIds.length) },
        }) as SchoolEvent,
    );
    return execute(deps, req, who, s.bulkNotification.operationId, events, eventLocation(events[0]!), () =>
      requireRules(deps, who, events, (i, name) => (name === 'recipientUserId' ? `body.recipientUserIds[${i}]` : `body.${name}`)),
    );
  };
  handlers[s.eraseUser.operationId] = (req, who) => eraseUser(deps, req, who, s.eraseUser.operationId);
  return handlers;
}
