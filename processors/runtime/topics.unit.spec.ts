import { expect } from 'chai';
import type { EventType } from '../../schemas/generated/events';
import { topicsOf } from './topics';

describe('topicsOf', () => {
  it('subscribes to exactly the topics the handled types are published to', () => {
    const handles: EventType[] = ['grade.recorded', 'section.created', 'course.assigned'];
    expect(topicsOf(handles)).to.deep.equal(['academic-events', 'grades-events']);
  });
});
