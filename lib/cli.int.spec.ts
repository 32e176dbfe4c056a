import { expect } from 'chai';
import { spawn } from 'node:child_process';
import path from 'node:path';

/** A CLI whose reader goes away (`… | head -1`) ends quietly instead of crashing on EPIPE. */
describe('runCli and a closed stdout (real pipe)', function () {
  this.timeout(30000);

  it('exits 0 with nothing on stderr when the reader closes the pipe early', async () => {
    // From the repository root (where mocha runs): this spec has no relative import, so Node 24 may load it as ESM, without __dirname.
    const script = `require(${JSON.stringify(path.resolve('lib/cli.ts'))}).runCli('t', async () => {
      for (let i = 0; i < 100000; i++) { process.stdout.write('line ' + i + '\\n'); if (i % 1000 === 0) await new Promise((r) => setImmediate(r)); }
    });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy(); // what head does after its first lines
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
  });
});
