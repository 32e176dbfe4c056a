import { expect } from 'chai';
import { spawn } from 'node:child_process';

/**
 * Every npm script that takes options behaves like a command-line tool: `--help` prints its usage and exits 0
 * without connecting to anything (every server address points at a closed port, so a connection attempt
 * would fail or hang), and a bad option prints one line and exits 2.
 */
describe('command-line tools (int: real processes, no servers needed)', function () {
  this.timeout(60_000);
  const closed = {
    KAFKA_BROKERS: '127.0.0.1:1',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
    MONGO_URL: 'mongodb://127.0.0.1:1/',
    PG_URL: 'postgres://postgres@127.0.0.1:1/school',
    FERRETDB_PG_URL: '',
  };
  function run(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const p = spawn('npm', ['run', '-s', script, '--', ...args], { env: { ...process.env, ...closed, DEBUG: '' } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
  const SCRIPTS = [
    'token',
    'replay',
    'chaos',
    'k8s:validate',
    'dlq',
    'demo',
    'projections:verify',
    'schemas:check',
    'stack:up',
    'stack:down',
    'stack:status',
    'ferretdb:indexes',
    'bench:pipeline',
    'processors',
    'lag',
    'test:kafka4',
    'compose:validate',
    'rules:test',
    'privacy',
  ];
  for (const script of SCRIPTS) {
    it(`${script} --help: usage on stdout, exit 0, nothing connected`, async () => {
      const r = await run(script, ['--help']);
      expect(r.stderr, 'stderr').to.equal('');
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/^usage: npm run /);
    });
    it(`${script} --no-such-option: one line, exit 2`, async () => {
      const r = await run(script, ['--no-such-option']);
      expect(r.code).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr.trimEnd().split('\n'), r.stderr).to.have.length(1);
      expect(r.stderr).to.include("Unknown option '--no-such-option'");
    });
  }
  it('a bad value is one line and exit 2 too (no stack trace)', async () => {
    for (const [script, args, says] of [
      ['token', ['--sub', 'U-1', '--role', 'janitor'], 'unknown role janitor'],
      ['replay', ['--projection', 'nope'], 'unknown projection nope'],
      ['chaos', ['--events', 'many'], '--events must be a number'],
      ['dlq', ['list', '--since', 'yesterday'], '--since must be an ISO-8601 time'],
      ['lag', ['--watch', '0'], '--watch must be a number >= 1'],
      ['projections:verify', [], 'give exactly one projection'],
      ['privacy', ['keys', 'shred'], 'expected "keys status" or "keys rotate"'],
      ['privacy', ['keys', 'rotate'], 'needs the old KEK in PRIVACY_KEK_PREVIOUS'],
    ] as const) {
      const r = await run(script, [...args]);
      expect(r.code, `${script} ${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr.trimEnd().split('\n'), r.stderr).to.have.length(1);
      expect(r.stderr).to.include(says);
      expect(r.stderr).not.to.match(/\n\s+at /);
    }
  });
});
