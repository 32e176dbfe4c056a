import { randomBytes } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { systemClock } from '../../lib/clock';
import type { Config } from '../../lib/config';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { EventCodec } from '../../schemas/codec';
import { buildEvent } from '../../schemas/envelope';
import type { SchoolEvent } from '../../schemas/generated/events';
import { EventPublisher } from '../../schemas/publisher';
import type { SchoolSize } from '../../scripts/school';

/** Shared by benchmarks: a realistic stream of n tardiness events over `students` students. */
/** `sampled`: the share of events whose own trace context (as a traced API would give it) is sampled; undefined: none carries one. */
export function tardinessStream(n: number, students: number, sampled?: number): Array<SchoolEvent<'tardiness.recorded'>> {
  const metadata = (i: number): { traceparent: string } | undefined =>
    sampled === undefined
      ? undefined
      : {
          traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-${(i * sampled) % 1 < sampled ? '01' : '00'}`,
        };
  return Array.from({ length: n }, (_, i) =>
    buildEvent(
      'tardiness.recorded',
      {
        tardinessId: `TRD-${i}`,
        studentUserId: `USR-${i % students}`,
        sectionId: `SEC-${i % 80}`,
        date: '2025-03-18',
        minutesLate: (i % 9) + 1,
        recordedBy: 'USR-T-1',
      },
      { sourceService: 'bench', clock: systemClock, metadata: metadata(i) },
    ),
  );
}

export async function produceAll(config: Config, producer: Producer, topic: string, events: SchoolEvent[], batch = 2000): Promise<number> {
  const publisher = new EventPublisher(producer, new EventCodec(createSchemaRegistry(config)), () => topic);
  const t0 = performance.now();
  const inflight: Array<Promise<void>> = [];
  for (let i = 0; i < events.length; i += batch) {
    inflight.push(publisher.publish(...events.slice(i, i + batch)));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  return events.length / ((performance.now() - t0) / 1000);
}

export async function freshTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en');

/**
 * bench:pipeline's school, from its env (defaults: 80 sections, 20 weeks, about 1,000,000 events).
 * Shared so `npm run bench` sizes Kafka's perf tests with the same events the pipeline offers.
 */
export function pipelineSize(env: NodeJS.ProcessEnv = process.env): { size: SchoolSize; rate: number; seconds: number } {
  return {
    size: {
      sections: Number(env.BENCH_PIPELINE_SECTIONS ?? 80),
      studentsPerSection: 26,
      teachers: 150,
      weeks: Number(env.BENCH_PIPELINE_WEEKS ?? 20),
      gradesPerCoursePerWeek: 5,
    },
    rate: Number(env.BENCH_PIPELINE_RATE ?? 10000),
    seconds: Number(env.BENCH_PIPELINE_SECONDS ?? 0),
  };
}
