import { expect } from 'chai';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createProcessors, PROCESSOR_NAMES } from './all';

describe('processors (unit)', () => {
  it('PROCESSOR_NAMES names what createProcessors builds, in its order', () => {
    const config = loadConfig({ LOG_LEVEL: 'error' });
    expect(createProcessors(config, createLogger(config, 'unit')).map((d) => d.name)).to.deep.equal([...PROCESSOR_NAMES]);
  });
});
