import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createProcessors, PROCESSOR_NAMES } from './all';

describe('processors (unit)', () => {
  it('PROCESSOR_NAMES names what createProcessors builds, in its order', () => {
    const config = loadConfig({ LOG_LEVEL: 'error' });
    expect(createProcessors(config, createLogger(config, 'unit')).map((d) => d.name)).to.deep.equal([...PROCESSOR_NAMES]);
  });

  it('no processor module imports the process entry point (run.ts runs the definitions; they never run themselves)', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const f = path.join(dir, e.name);
        if (e.isDirectory()) walk(f);
        else if (/\.ts$/.test(e.name) && !/\.spec\.ts$/.test(e.name) && f !== path.join(__dirname, 'run.ts'))
          if (/from '(\.\.?\/)+run'|import\('(\.\.?\/)+run'\)|require\.main/.test(fs.readFileSync(f, 'utf8')))
            offenders.push(path.relative(__dirname, f));
      }
    };
    walk(__dirname);
    expect(offenders).to.deep.equal([]);
  });

  it('academic declares the saga deadlines as its task (the host runs it; no entry point wires it)', () => {
    const config = loadConfig({ LOG_LEVEL: 'error' });
    const academic = createProcessors(config, createLogger(config, 'unit')).find((d) => d.name === 'academic')!;
    expect(academic.tasks).to.have.length(1);
  });
});
