import { expect } from 'chai';
import { loadConfig } from '../config';
import type { Logger } from '../logger';
import { createKafka } from './kafka';

describe('kafka client logs (unit)', () => {
  const config = loadConfig({ LOG_LEVEL: 'error' });
  function logged(level: 'error' | 'warn', extra: Record<string, unknown>): string[] {
    const levels: string[] = [];
    const logger = { log: (l: string) => void levels.push(l) } as unknown as Logger;
    const kafka = createKafka(config, logger);
    kafka.logger()[level]('Response GroupCoordinator(key: 10, version: 2)', extra);
    return levels;
  }

  it('logs the responses kafkajs retries by itself at debug, not error (a new user sees no wall of errors at start)', () => {
    expect(logged('error', { error: 'The group coordinator is not available' })).to.deep.equal(['debug']);
    expect(logged('error', { error: "The coordinator is loading and hence can't process requests for this group" })).to.deep.equal([
      'debug',
    ]);
    expect(
      logged('warn', { error: 'There is no leader for this topic-partition as we are in the middle of a leadership election' }),
    ).to.deep.equal(['debug']);
  });

  it('keeps real failures at their level', () => {
    expect(logged('error', { error: 'Not authorized to access topics: [Topic authorization failed.]' })).to.deep.equal(['error']);
    expect(logged('error', {})).to.deep.equal(['error']);
    expect(logged('warn', { error: 'something new' })).to.deep.equal(['warn']);
  });
});
