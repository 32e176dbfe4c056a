import { expect } from 'chai';
import { anEvent } from '../processors/testing/gwt';
import type { SchoolEvent } from './generated/events';
import { CoalescingPublisher } from './publisher';

describe('CoalescingPublisher', () => {
  it('sends callers that arrive while a send is in flight together, in arrival order, and settles each with its batch', async () => {
    const sends: string[][] = [];
    let release: () => void = () => undefined;
    const inner = {
      publish: (...events: SchoolEvent[]) => {
        sends.push(events.map((e) => e.eventId));
        return sends.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
      },
    };
    const p = new CoalescingPublisher(inner);
    const [a, b, c] = [anEvent('grade.recorded'), anEvent('grade.recorded'), anEvent('grade.recorded')];
    const first = p.publish(a);
    const rest = [p.publish(b), p.publish(c)];
    expect(sends).to.deep.equal([[a.eventId]]);
    release();
    await Promise.all([first, ...rest]);
    expect(sends).to.deep.equal([[a.eventId], [b.eventId, c.eventId]]);
  });

  it('a failed send rejects only the callers in that batch', async () => {
    let calls = 0;
    const p = new CoalescingPublisher({ publish: () => (++calls === 1 ? Promise.reject(new Error('broker down')) : Promise.resolve()) });
    const failed = p.publish(anEvent('grade.recorded')).then(
      () => 'ok',
      (e: Error) => e.message,
    );
    expect(await failed).to.equal('broker down');
    expect(await p.publish(anEvent('grade.recorded')).then(() => 'ok')).to.equal('ok');
  });
});
