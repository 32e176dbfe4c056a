import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createProcessors, PROCESSOR_NAMES } from './all';
import { PROCESSOR_MANIFEST } from './manifest';

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

  it('the manifest says what the definitions are: name, store, topics, handled types, lookups and tasks', () => {
    const config = loadConfig({ LOG_LEVEL: 'error' });
    const defs = createProcessors(config, createLogger(config, 'unit'));
    const asData = (d: (typeof defs)[number]) => ({
      name: d.name,
      store: d.store,
      topics: [...d.topics],
      handles: [...d.handles],
      lookups: d.store === 'mongo' ? [...(d.lookups ?? [])] : [],
      tasks: d.tasks?.length ?? 0,
    });
    expect(
      PROCESSOR_MANIFEST.map((m) => ({
        name: m.name,
        store: m.store,
        topics: [...m.topics],
        handles: [...m.handles],
        lookups: [...(m.lookups ?? [])],
        tasks: m.tasks?.length ?? 0,
      })),
    ).to.deep.equal(defs.map(asData));
  });

  it('what only reads the processors builds none of them: the API, lag, k8s:validate, ferretdb:indexes, the benches report', () => {
    const root = path.join(__dirname, '..');
    const readers = [
      'api/deps.ts',
      'api/status.ts',
      'api/ops/service.ts',
      'scripts/lag.ts',
      'scripts/k8s-validate.ts',
      'deploy/ferretdb/indexes.ts',
      'bench/all.ts',
    ];
    const building = readers.filter((f) => /createProcessors|createChannels/.test(fs.readFileSync(path.join(root, f), 'utf8')));
    expect(building).to.deep.equal([]);
  });

  it('academic declares the saga deadlines as its task (the host runs it; no entry point wires it)', () => {
    const config = loadConfig({ LOG_LEVEL: 'error' });
    const academic = createProcessors(config, createLogger(config, 'unit')).find((d) => d.name === 'academic')!;
    expect(academic.tasks).to.have.length(1);
  });
});
