import client from 'prom-client';
import type { CircuitState } from './breaker';

/** Buckets of the runtime's latency histograms (a millisecond to five seconds). */
const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** One partition's lag as a runner sees it. */
export interface LagSample {
  processor: string;
  topic: string;
  partition: number;
  lag: number;
}

/** Metrics of one process (one registry, passed in; no global default registry). */
export class RuntimeMetrics {
  /**
   * Where the lag comes from at each scrape (set by the host once its runners exist): the broker's end offsets
   * against the positions each runner holds, whatever progress it makes.
   */
  lagSource: (() => Promise<LagSample[]>) | undefined;
  readonly registry = new client.Registry();
  readonly events = new client.Counter({
    name: 'school_events_records_handled_total',
    help: 'Records handled, by processor, event type and outcome (applied, duplicate, ignored, redelivered, dead_lettered)',
    labelNames: ['processor', 'event_type', 'outcome'],
    registers: [this.registry],
  });
  readonly latency = new client.Histogram({
    name: 'school_events_chunk_duration_seconds',
    help: 'Time to apply one chunk of records in one store transaction, by processor',
    labelNames: ['processor'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly lag: client.Gauge<'processor' | 'topic' | 'partition'> = new client.Gauge({
    name: 'school_events_consumer_lag_records',
    help: "Records of a partition this instance is assigned that it has not applied: the broker's end offset minus the position the runner holds, read at every scrape (so it grows while a partition is stuck retrying); partitions no longer assigned have no series",
    labelNames: ['processor', 'topic', 'partition'],
    registers: [this.registry],
    collect: async () => {
      // The broker unreachable: keep the last values (the scrape still answers; alerts on the process cover it).
      const samples = await this.lagSource?.().catch(() => undefined);
      if (!samples) return;
      this.lag.reset(); // series of partitions that moved away in a rebalance go
      for (const s of samples) this.lag.set({ processor: s.processor, topic: s.topic, partition: String(s.partition) }, s.lag);
    },
  });
  readonly publishLatency = new client.Histogram({
    name: 'school_events_publish_duration_seconds',
    help: "Time to send a chunk's derived events from the outbox (acks=all) and clear them, by processor",
    labelNames: ['processor'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly deadLetters = new client.Counter({
    name: 'school_events_dead_letters_total',
    help: 'Records sent to a dead-letter (or parked) topic, by error class and broken rule (docs/invariants.md; empty when none)',
    labelNames: ['processor', 'topic', 'error_class', 'rule'],
    registers: [this.registry],
  });
  readonly retries = new client.Counter({
    name: 'school_events_retries_total',
    help: 'Transient failures retried (the partition is held meanwhile)',
    labelNames: ['processor', 'store'],
    registers: [this.registry],
  });
  readonly circuit = new client.Gauge({
    name: 'school_events_circuit_state',
    help: 'Store circuit breaker: 1 for the state it is in, 0 for the others (state = closed, half_open, open)',
    labelNames: ['processor', 'store', 'state'],
    registers: [this.registry],
  });

  /** One series per state, exactly one of them 1. */
  setCircuit(processor: string, store: string, state: CircuitState): void {
    for (const s of ['closed', 'half-open', 'open'] as const)
      this.circuit.set({ processor, store, state: s.replace('-', '_') }, s === state ? 1 : 0);
  }

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
  }
}
