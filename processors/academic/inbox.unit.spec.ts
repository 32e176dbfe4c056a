import { expect } from 'chai';
import type { SchoolEvent } from '../../schemas/generated/events';
import { anEvent } from '../testing/gwt';
import { CausalInbox } from './inbox';

describe('academic causal inbox (unit)', () => {
  const at = (eventId: string, timestamp: string, causationId?: string): SchoolEvent =>
    anEvent('enrollment.grades.initialized', { enrollmentId: 'E-1' }, { eventId, timestamp, causationId });

  it('retries in event-time order, ties by id', () => {
    const inbox = new CausalInbox().load([
      { enrollmentId: 'E-1', event: at('b', '2025-01-01T00:00:02Z') },
      { enrollmentId: 'E-1', event: at('c', '2025-01-01T00:00:01Z') },
      { enrollmentId: 'E-1', event: at('a', '2025-01-01T00:00:02Z') },
    ]);
    expect(inbox.waiting('E-1').map((e) => e.eventId)).to.deep.equal(['c', 'a', 'b']);
    expect(inbox.waiting('E-2')).to.deep.equal([]);
  });

  it('writes back only what changed: parked and released in one chunk is nothing; a loaded row released is a delete', () => {
    const inbox = new CausalInbox().load([{ enrollmentId: 'E-1', event: at('old', '2025-01-01T00:00:00Z') }]);
    inbox.park('E-1', at('new', '2025-01-01T00:00:01Z'));
    inbox.park('E-1', at('kept', '2025-01-01T00:00:03Z'));
    inbox.release('E-1', 'new');
    inbox.release('E-1', 'old');
    const { parked, released } = inbox.changes();
    expect(parked.map((p) => p.event.eventId)).to.deep.equal(['kept']);
    expect(released).to.deep.equal([{ enrollmentId: 'E-1', eventId: 'old' }]);
    expect(inbox.has('E-1')).to.equal(true);
    inbox.release('E-1', 'kept');
    expect(inbox.has('E-1')).to.equal(false);
    expect(inbox.changes().parked).to.deep.equal([]);
  });

  it('knows whether the recorded effect of an event is parked', () => {
    const inbox = new CausalInbox().load([
      { enrollmentId: 'E-1', event: anEvent('enrollment.completed', { enrollmentId: 'E-1' }, { causationId: 'cause' }) },
    ]);
    expect(inbox.holdsEffectOf('E-1', 'cause', new Set(['enrollment.completed']))).to.equal(true);
    expect(inbox.holdsEffectOf('E-1', 'cause', new Set(['enrollment.failed']))).to.equal(false);
    expect(inbox.holdsEffectOf('E-1', 'other', new Set(['enrollment.completed']))).to.equal(false);
  });

  describe('settle', () => {
    /** Applies an event when every id it lists was applied before; records the order. */
    function world(needs: Record<string, string[]>) {
      const applied: string[] = [];
      const apply = (e: SchoolEvent): boolean => {
        if (!(needs[e.eventId] ?? []).every((n) => applied.includes(n))) return false;
        applied.push(e.eventId);
        return true;
      };
      return { applied, apply };
    }

    it('parks an event that must wait, and releases the chain once its cause arrives', () => {
      const inbox = new CausalInbox();
      const w = world({ b: ['a'], c: ['b'] });
      inbox.settle('E-1', at('c', '2025-01-01T00:00:03Z'), w.apply, false);
      inbox.settle('E-1', at('b', '2025-01-01T00:00:02Z'), w.apply, false);
      expect(w.applied).to.deep.equal([]);
      expect(inbox.waiting('E-1').map((e) => e.eventId)).to.deep.equal(['b', 'c']);
      inbox.settle('E-1', at('a', '2025-01-01T00:00:01Z'), w.apply, false);
      expect(w.applied).to.deep.equal(['a', 'b', 'c']);
      expect(inbox.has('E-1')).to.equal(false);
      expect(inbox.changes()).to.deep.equal({ parked: [], released: [] });
    });

    it('does not retry when nothing was parked before (live), but always does in a rebuild', () => {
      let tries = 0;
      const count = (e: SchoolEvent, retried: boolean): boolean => {
        if (retried) tries++;
        return e.eventId === 'x';
      };
      const live = new CausalInbox();
      live.settle('E-1', at('x', '2025-01-01T00:00:00Z'), count, false);
      expect(tries).to.equal(0);
      const rebuild = new CausalInbox();
      rebuild.settle('E-1', at('y', '2025-01-01T00:00:00Z'), count, true);
      expect(tries).to.equal(1); // the parked event itself, tried again
      expect(rebuild.waiting('E-1').map((e) => e.eventId)).to.deep.equal(['y']);
    });

    it('keeps an event parked while it is still refused, and tells the callback it is a retry', () => {
      const inbox = new CausalInbox();
      const calls: Array<[string, boolean]> = [];
      const apply = (e: SchoolEvent, retried: boolean): boolean => {
        calls.push([e.eventId, retried]);
        return e.eventId === 'cause';
      };
      inbox.settle('E-1', at('waits', '2025-01-01T00:00:02Z'), apply, false);
      inbox.settle('E-1', at('cause', '2025-01-01T00:00:01Z'), apply, false);
      expect(calls).to.deep.equal([
        ['waits', false],
        ['cause', false],
        ['waits', true],
      ]);
      expect(inbox.waiting('E-1').map((e) => e.eventId)).to.deep.equal(['waits']);
    });
  });
});
