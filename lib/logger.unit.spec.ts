import { expect } from 'chai';
import { textLine } from './logger';

describe('logger text lines (unit)', () => {
  it('time, level, component, message, then the fields as key=value (quoted when needed)', () => {
    expect(
      textLine({
        timestamp: '2026-12-01T10:00:00.123Z',
        level: 'warn',
        message: 'circuit open: consumption paused',
        component: 'processor:grades',
        processor: 'grades',
        store: 'postgres',
        detail: 'two words',
        n: 3,
      }),
    ).to.equal(
      '10:00:00.123 WARN  [processor:grades] circuit open: consumption paused processor=grades store=postgres detail="two words" n=3',
    );
  });
});
