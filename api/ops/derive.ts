import type { CircuitState } from '../../processors/runtime/breaker';

/** A heartbeat older than this many intervals is stale: its process stopped beating (crashed, hung or cut off). */
export const STALE_AFTER_BEATS = 3;
/** Total lag above which a processor with fresh, closed-circuit instances is reported lagging. */
export const LAGGING_ABOVE = 1000;

export type ProcessorState = 'ok' | 'lagging' | 'circuit-open' | 'down';

export interface InstanceBeat {
  instance: string;
  ready: boolean;
  circuit: CircuitState;
  seenAt: string;
  stale: boolean;
}

export const isStale = (ageMs: number, heartbeatMs: number): boolean => ageMs > STALE_AFTER_BEATS * heartbeatMs;

/** down: no fresh instance; circuit-open: a fresh instance's store circuit is open; lagging: lag > 1000; else ok. */
export function processorState(lag: number, instances: readonly Pick<InstanceBeat, 'circuit' | 'stale'>[]): ProcessorState {
  const fresh = instances.filter((i) => !i.stale);
  if (!fresh.length) return 'down';
  if (fresh.some((i) => i.circuit === 'open')) return 'circuit-open';
  if (lag > LAGGING_ABOVE) return 'lagging';
  return 'ok';
}

/** A dead letter's id as the API and `npm run dlq` print it: `<dlq topic>:<partition>:<offset>`. */
export interface DeadLetterRef {
  id: string;
  topic: string;
  partition: number;
  offset: string;
}

/** Kafka topic names are [a-zA-Z0-9._-]; partition and offset are decimal. The OpenAPI document uses the same pattern. */
export const DEAD_LETTER_ID_PATTERN = '^[A-Za-z0-9._-]{1,249}:[0-9]{1,9}:[0-9]{1,19}$';
const ID = new RegExp(DEAD_LETTER_ID_PATTERN);

/** The parts of a dead-letter id, or undefined when it is not shaped like one. */
export function parseDeadLetterId(id: string): DeadLetterRef | undefined {
  if (!ID.test(id)) return undefined;
  const [topic, partition, offset] = id.split(':') as [string, string, string];
  const o = BigInt(offset);
  return { id: `${topic}:${Number(partition)}:${o}`, topic, partition: Number(partition), offset: o.toString() };
}

/** JSON of a decoded event: Buffers as hex, bigints as strings, Dates as ISO (avsc may hand any of them back). */
export function toJson(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}
