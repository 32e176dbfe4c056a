import type { Answer } from '../commands/execute';
import { notFound } from '../http/problem';
import type { QueryHandlers } from '../queries';
import type { DomainTopic } from '../../topics/catalog';

const ok = (body: unknown): Answer => ({ status: 200, body });
const date = (v: unknown): Date | undefined => (typeof v === 'string' ? new Date(v) : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The operator console's endpoints (admin only, PERMISSIONS), each through the 'ops' dependency guard. */
export function opsHandlers(): QueryHandlers {
  return {
    listProcessorStatus: { dependency: 'ops', run: async ({ deps }) => ok(await deps.ops.processors()) },
    listDeadLetters: {
      dependency: 'ops',
      run: async ({ deps, query }) =>
        ok(
          await deps.ops.deadLetters({
            topic: text(query.topic) as DomainTopic | undefined,
            eventType: text(query.eventType),
            errorClass: text(query.errorClass),
            rule: text(query.rule),
            since: date(query.since),
            until: date(query.until),
            parked: query.parked === true,
            limit: Number(query.limit),
          }),
        ),
    },
    getDeadLetter: { dependency: 'ops', run: async ({ deps, params }) => ok(await deps.ops.deadLetter(params.deadLetterId!)) },
    redriveDeadLetters: {
      dependency: 'ops',
      run: async ({ deps, body }) => ok(await deps.ops.redrive(body.ids as string[], (body.ratePerSecond as number | undefined) ?? 50)),
    },
    listReplayBuilds: { dependency: 'ops', run: async ({ deps }) => ok(await deps.ops.replayBuilds()) },
    getEnrollmentTrace: {
      dependency: 'ops',
      run: async ({ deps, params }) => {
        // The saga's trace is the one its first event (CREATE_ENROLLMENT, from the timeline) was applied in.
        const saga = await deps.q.academic.saga(params.enrollmentId!);
        const first = saga?.timeline[0] as { eventId?: string } | undefined;
        if (!first?.eventId) throw notFound(`enrollment ${params.enrollmentId} not found (or no step applied yet)`);
        return ok(await deps.traces.byEvent(first.eventId));
      },
    },
  };
}
