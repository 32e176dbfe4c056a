import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** npm run compose:validate against the real Compose specification schema (cached from the Go module proxy). */
describe('compose:validate (int: the Compose specification schema)', function () {
  this.timeout(120_000);
  const run = (file?: string) => spawnSync('npm', ['run', '-s', 'compose:validate', '--', ...(file ? [file] : [])], { encoding: 'utf8' });

  it('accepts the committed compose file', () => {
    const r = run();
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^ok {3}docker-compose\.kafka\.yml/m);
  });

  it('rejects what the specification forbids (a misspelt key) and what the project rules forbid (a port on every interface)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-'));
    try {
      const file = path.join(dir, 'bad.yml');
      const text = fs
        .readFileSync('docker-compose.kafka.yml', 'utf8')
        .replace("    healthcheck:\n      test: ['CMD', 'pg_isready'", "    healtcheck:\n      test: ['CMD', 'pg_isready'")
        .replace("'127.0.0.1:27017:27017'", "'27017:27017'");
      fs.writeFileSync(file, text);
      const r = run(file);
      expect(r.status).to.equal(1);
      expect(r.stdout.trimEnd().split('\n')).to.deep.equal([
        `FAIL ${path.relative(process.cwd(), file)}: schema: /services/postgres must NOT have unevaluated properties`,
        `FAIL ${path.relative(process.cwd(), file)}: postgres: no healthcheck`,
        `FAIL ${path.relative(process.cwd(), file)}: mongo: port "27017:27017" is not bound to 127.0.0.1`,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
