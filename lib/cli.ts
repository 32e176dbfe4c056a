import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { AppError } from './errors';

/** A user's mistake on the command line: one line on stderr, exit 2. */
export class UsageError extends AppError {
  readonly code = 'USAGE';
  readonly retriable = false;
}

export interface CliSpec<O extends ParseArgsOptionsConfig> {
  /** The npm script, e.g. `replay` (prefixes every message). */
  name: string;
  /** What `--help` prints: a usage line, then the options. */
  help: string;
  options: O;
  allowPositionals?: boolean;
  argv?: string[];
}

/**
 * The command line of a CLI, the same way for all of them: `--help` (or `-h`) prints the help and exits 0
 * before anything connects; an unknown option or a missing value is a UsageError (exit 2 through runCli).
 */
export function parseCli<O extends ParseArgsOptionsConfig>(spec: CliSpec<O>) {
  const argv = spec.argv ?? process.argv.slice(2);
  const dashdash = argv.indexOf('--');
  const own = dashdash < 0 ? argv : argv.slice(0, dashdash);
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(spec.help.endsWith('\n') ? spec.help : `${spec.help}\n`);
    process.exit(0);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: spec.options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message.split('\n')[0]! : String(e));
  }
  if (!spec.allowPositionals && parsed.positionals.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  return parsed;
}

/** A number flag: finite and at least `min`, else a UsageError naming the flag. */
export function numberFlag(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min)
    throw new UsageError(`--${flag} must be a number >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** An ISO-8601 instant flag, else a UsageError naming the flag. */
export function timeFlag(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${flag} must be an ISO-8601 time, got ${JSON.stringify(value)}`);
  return d;
}

/**
 * Runs a CLI's main: a UsageError prints one line (and where the help is) and exits 2; any other error prints
 * its message, never a stack trace (DEBUG=1 shows it), and exits 1.
 */
export function runCli(name: string, main: () => Promise<void> | void): void {
  const fail = (e: unknown): void => {
    if (e instanceof UsageError) {
      process.stderr.write(`${name}: ${e.message} (npm run ${name} -- --help)\n`);
      process.exit(2);
    }
    const detail = process.env.DEBUG && e instanceof Error ? (e.stack ?? e.message) : e instanceof Error ? e.message : String(e);
    process.stderr.write(`${name}: ${detail}\n`);
    process.exit(1);
  };
  // A reader that stops early (`npm run stack:status | head -3`) closes the pipe: end quietly, as Unix tools do.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' ? process.exit(0) : fail(e)));
  try {
    const r = main();
    if (r) r.catch(fail);
  } catch (e) {
    fail(e);
  }
}
