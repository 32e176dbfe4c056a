import { expect } from 'chai';
import { fixedClock } from '../../lib/clock';
import { buildEvent } from '../../schemas/envelope';
import { EXAMPLE_PAYLOADS } from '../../schemas/examples';
import type { EventPayloads, EventType, SchoolEvent } from '../../schemas/generated/events';

export const testClock = fixedClock('2025-03-15T08:30:00.000Z');

/** An event with the example payload of its type, overridden where the test cares. */
export function anEvent<T extends EventType>(
  type: T,
  payload: Partial<EventPayloads[T]> = {},
  envelope: Partial<SchoolEvent> = {},
): SchoolEvent<T> {
  const e = buildEvent(type, { ...EXAMPLE_PAYLOADS[type], ...payload }, { sourceService: 'test', clock: testClock });
  return { ...e, ...envelope };
}

/**
 * given/when/then for pure handlers: `given(state).when(event, handler).then(expected)`.
 * The handler must not mutate the state it is given (checked).
 */
export function given<S>(state: S) {
  return {
    when<E, R>(event: E, handler: (event: E, state: S) => R) {
      const before = JSON.stringify(state);
      const result = handler(event, state);
      expect(JSON.stringify(state), 'the handler mutated its input state').to.equal(before);
      return {
        then(expected: R): void {
          expect(JSON.parse(JSON.stringify(result))).to.deep.equal(JSON.parse(JSON.stringify(expected)));
        },
        thenSatisfies(check: (r: R) => void): void {
          check(result);
        },
      };
    },
  };
}
