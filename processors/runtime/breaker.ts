export type CircuitState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failures: number;
  openMs: number;
  halfOpenCalls: number;
  now?: () => number;
}

/**
 * Circuit breaker per store: opens after N consecutive failures, allows a probe after
 * `openMs`, and closes after `halfOpenCalls` successful calls in half-open (a failure
 * there re-opens it). Pure state machine; the runtime pauses consumption while open.
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private halfOpenSuccesses = 0;
  private readonly now: () => number;

  constructor(private readonly opts: BreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get current(): CircuitState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.opts.openMs) {
      this.state = 'half-open';
      this.halfOpenSuccesses = 0;
    }
    return this.state;
  }

  /** Milliseconds until a call may be tried (0 when closed or half-open). */
  waitMs(): number {
    return this.current === 'open' ? Math.max(0, this.opts.openMs - (this.now() - this.openedAt)) : 0;
  }

  success(): void {
    if (this.current === 'half-open') {
      this.halfOpenSuccesses++;
      if (this.halfOpenSuccesses < this.opts.halfOpenCalls) return;
    }
    this.state = 'closed';
    this.consecutiveFailures = 0;
  }

  failure(): void {
    this.consecutiveFailures++;
    if (this.current === 'half-open' || this.consecutiveFailures >= this.opts.failures) {
      this.state = 'open';
      this.openedAt = this.now();
    }
  }
}

/**
 * Exponential backoff with equal jitter: the step doubles from `initialMs` up to `maxMs` (1, 2, 4, 8, 16 s by
 * default), and the delay is a random point in its upper half, so instances that failed together (an outage
 * of a shared server) do not all retry at the same instants, and none retries sooner than half a step.
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}
