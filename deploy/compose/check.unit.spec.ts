import { expect } from 'chai';
import fs from 'node:fs';
import { parse } from 'yaml';
import { checkCompose, type ComposeFile } from './check';

describe('compose file rules (unit)', () => {
  const real = (): ComposeFile => parse(fs.readFileSync('docker-compose.kafka.yml', 'utf8')) as ComposeFile;

  it('the committed compose file keeps every rule', () => {
    expect(checkCompose(real())).to.deep.equal([]);
  });

  it('names each broken rule', () => {
    const broken = (change: (d: ComposeFile) => void): string[] => {
      const d = real();
      change(d);
      return checkCompose(d);
    };
    const s = (d: ComposeFile, name: string) => d.services![name]!;
    expect(broken((d) => (s(d, 'kafka').ports = ['9092:9092']))).to.deep.equal(['kafka: port "9092:9092" is not bound to 127.0.0.1']);
    expect(broken((d) => delete s(d, 'mongo').healthcheck)).to.deep.equal(['mongo: no healthcheck']);
    expect(broken((d) => (s(d, 'schema-registry').depends_on = ['postgres']))).to.deep.equal([
      'schema-registry: depends_on postgres without condition: service_healthy',
    ]);
    expect(broken((d) => delete s(d, 'kafka').volumes)).to.deep.equal([
      'kafka: keeps data but has no named volume (down/up would lose it)',
    ]);
    expect(broken((d) => delete d.volumes!['pg-data'])).to.deep.equal(['postgres: volume pg-data is not declared']);
    expect(broken((d) => (s(d, 'kafka').image = 'apache/kafka:3.9.1'))).to.deep.equal([
      'kafka: apache/kafka:3.9.1, the native stack runs 3.9.2',
    ]);
    expect(broken((d) => (s(d, 'postgres').image = 'postgres:16'))).to.deep.equal(['postgres: postgres:16, the native stack runs 15']);
  });
});
