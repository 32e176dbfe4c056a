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

/** Exponential backoff: initial, 2x, 4x, ... capped at max (1, 2, 4, 8, 16 s by default). */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}
