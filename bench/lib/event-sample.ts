import type { Config } from '../../lib/config';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { systemClock } from '../../lib/clock';
import { EventCodec } from '../../schemas/codec';
import { eventHeaders } from '../../schemas/publisher';
import { SchoolGenerator } from '../../scripts/school';
import { randomName } from '../../test/support';
import { pipelineSize } from './setup';

export interface EventSample {
  /** Events bench:pipeline offers (its weeks of grades and attendance, what its events/s counts). */
  count: number;
  /** Mean Avro value size, registry header included. */
  valueBytes: number;
  /** Mean bytes of value + key + headers: what one of our records carries to the broker. */
  recordBytes: number;
}

/**
 * bench:pipeline's own events, regenerated from the same env (the generator is deterministic
 * for a size) and encoded with the real codec, so the yardstick moves the same bytes.
 */
export async function pipelineEventSample(config: Config, env: NodeJS.ProcessEnv): Promise<EventSample> {
  const { size } = pipelineSize(env);
  // Same tag shape as TestPipeline's run id: ids inside the events have the same length.
  const school = new SchoolGenerator(randomName('e2e').replace(/-/g, '_'), size, systemClock);
  school.setup();
  school.enrollments();
  const codec = new EventCodec(createSchemaRegistry(config));
  let count = 0;
  let value = 0;
  let record = 0;
  let encoded = 0;
  for (let w = 0; w < size.weeks; w++) {
    const events = school.week(w);
    count += events.length;
    // Every 8th event is plenty for a mean and keeps the default (1M-event) size quick.
    for (let i = 0; i < events.length; i += 8) {
      const e = events[i]!;
      const v = (await codec.encode(e)).length;
      const headers = Object.entries(eventHeaders(e)).reduce((s, [k, h]) => s + k.length + Buffer.byteLength(h), 0);
      value += v;
      record += v + Buffer.byteLength(e.aggregateId) + headers;
      encoded++;
    }
  }
  return { count, valueBytes: value / encoded, recordBytes: record / encoded };
}
