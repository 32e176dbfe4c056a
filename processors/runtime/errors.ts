import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { AppError } from '../../lib/errors';

export type FailureClass = 'transient' | 'permanent';

// SQLSTATE classes that mean "the server or connection", not "this record": 08 connection, 53 resources,
// 57 operator intervention (e.g. admin shutdown), 58 system error; 40001/40P01/55P03 serialization, deadlock and
// lock not available.
const TRANSIENT_SQLSTATE = /^(08|53|57|58)|^40001$|^40P01$|^55P03$/;
// FerretDB reports its PostgreSQL backend being down as an ordinary server error (found by npm run chaos:
// records were dead-lettered during a PostgreSQL restart).
const FERRETDB_BACKEND_DOWN =
  /failed to connect to|dial error|connection refused|the database system is (starting up|shutting down)|terminating connection|conn closed/i;
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * The one place that decides whether a failure is worth retrying (hold the partition)
 * or is a property of the record (dead-letter it and move on).
 */
export function classify(error: unknown): FailureClass {
  if (error instanceof AppError) return error.retriable ? 'transient' : 'permanent';
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return 'transient';
  if (error instanceof MongoServerError)
    return error.hasErrorLabel('RetryableWriteError') || error.code === 91 || FERRETDB_BACKEND_DOWN.test(error.message)
      ? 'transient'
      : 'permanent';
  if (typeof error === 'object' && error !== null) {
    const e = error as { code?: unknown; message?: unknown; name?: unknown };
    if (typeof e.code === 'string' && (TRANSIENT_SQLSTATE.test(e.code) || TRANSIENT_NODE_CODES.has(e.code))) return 'transient';
    if (
      typeof e.message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/i.test(
        e.message,
      )
    ) {
      return 'transient';
    }
    if (e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSRequestTimeoutError')
      return 'transient';
  }
  return 'permanent';
}

/**
 * Lock contention between concurrent partitions (deadlock, serialization failure, lock not
 * available): worth retrying at once, and not a sign that the store is down, so it does not
 * count against the circuit breaker.
 */
export function isContention(error: unknown): boolean {
  if (error instanceof LocksBusyError) return true;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === '40P01' || code === '40001' || code === '55P03';
}

/**
 * Locks a chunk tried after its own (out of the sorted order, so never waited for) are held by another chunk:
 * contention, retried at once, instead of a deadlock PostgreSQL would break only after deadlock_timeout.
 */
export class LocksBusyError extends AppError {
  readonly code = 'LOCKS_BUSY';
  readonly retriable = true;
}

/** A business rule that will never pass for this record: dead-letter it. */
/** A record breaks a rule of the school; `rule` names it where the rule has a code (docs/invariants.md). */
export class RuleViolationError extends AppError {
  readonly code = 'RULE_VIOLATION';
  readonly retriable = false;
  constructor(
    message: string,
    readonly rule?: string,
  ) {
    super(message);
  }
}

/** The runtime is stopping: abandon the in-flight work without storing a position past it. */
export class StoppingError extends AppError {
  readonly code = 'STOPPING';
  readonly retriable = false;
}

/** Sending committed outbox rows failed: always retried (the commit stands; skipping would lose the events). */
export class OutboxSendError extends AppError {
  readonly code = 'OUTBOX_SEND';
  readonly retriable = true;
}
