import type { Config } from '../../lib/config';
import { CircuitBreaker } from '../../processors/runtime/breaker';
import { ApiProblem, DependencyError } from './problem';

export type Guarded = keyof Config['api']['timeouts'];

/**
 * Per-dependency timeout (DOMAIN.md figures) and circuit breaker (5 failures, probe after
 * 30 s, 3 calls half-open; runtime.* config). An open circuit answers 503 at once instead of
 * piling requests on a dead store. ApiProblems (404, 403 …) are answers, not failures.
 */
export class DependencyGuard {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(private readonly config: Config) {}

  state(dep: Guarded): string {
    return this.breaker(dep).current;
  }

  private breaker(dep: string): CircuitBreaker {
    let b = this.breakers.get(dep);
    if (!b) {
      const r = this.config.runtime;
      b = new CircuitBreaker({ failures: r.breakerFailures, openMs: r.breakerOpenMs, halfOpenCalls: r.breakerHalfOpenCalls });
      this.breakers.set(dep, b);
    }
    return b;
  }

  async run<T>(dep: Guarded, fn: () => Promise<T>): Promise<T> {
    const b = this.breaker(dep);
    if (b.current === 'open') throw new DependencyError(dep, `${dep} is unavailable (circuit open)`);
    const ms = this.config.api.timeouts[dep];
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new DependencyError(dep, `${dep} did not answer within ${ms} ms`)), ms);
        }),
      ]);
      b.success();
      return result;
    } catch (e) {
      if (e instanceof ApiProblem) {
        b.success();
        throw e;
      }
      b.failure();
      throw e instanceof DependencyError
        ? e
        : new DependencyError(dep, `${dep} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }
}
