import type { Kafka } from 'kafkajs';
import { readToEnd } from '../../lib/read-to-end';
import type { ProcessorDefinition } from '../../processors/runtime/types';
import type { EventCodec } from '../../schemas/codec';

export interface AppliedCheck {
  /** Distinct events of the types the processor handles, in its topics. */
  expected: number;
  /** Of those, without an "applied" marker in the processor's store: lost. */
  lost: number;
  /** Markers for events not in the topics (should never happen). */
  unknown: number;
  /** Records in the topics that repeat an event id (publisher retries); each must be applied once. */
  redelivered: number;
}

/**
 * Event-level exactly-once check of one processor: every handled event in its topics has
 * exactly one "applied" marker (markers are written with the effects, in the same transaction
 * for Postgres, by the guarded update path for Mongo, and are unique by event id).
 */
export async function checkApplied(
  kafka: Kafka,
  codec: EventCodec,
  def: ProcessorDefinition,
  topics: string[],
  markers: () => Promise<Set<string>>,
): Promise<AppliedCheck> {
  const handled = new Set<string>(def.handles);
  const expected = new Set<string>();
  let redelivered = 0;
  for (const r of await readToEnd(kafka, topics, 120_000)) {
    if (!r.value) continue;
    const e = await codec.decode(r.value).then(
      (d) => d.event,
      () => undefined, // poison: counted by the dead-letter check
    );
    if (!e || !handled.has(e.eventType)) continue;
    if (expected.has(e.eventId)) redelivered++;
    expected.add(e.eventId);
  }
  const found = await markers();
  let lost = 0;
  for (const id of expected) if (!found.has(id)) lost++;
  let unknown = 0;
  for (const id of found) if (!expected.has(id)) unknown++;
  return { expected: expected.size, lost, unknown, redelivered };
}
