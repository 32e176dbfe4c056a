import type { Config } from '../lib/config';

/** The six domain topics from DOMAIN.md; names are exact. */
export const DOMAIN_TOPICS = [
  'user-events',
  'academic-events',
  'assignment-events',
  'grades-events',
  'attendance-events',
  'notification-events',
] as const;
export type DomainTopic = (typeof DOMAIN_TOPICS)[number];

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Kafka topic configs we own; anything else on the topic is left alone. */
  config: Record<string, string>;
  purpose: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const dlqTopic = (topic: string): string => `${topic}.dlq`;
/** Dead letters that failed again after the maximum number of redrives: kept, never looped. */
export const parkedTopic = (topic: string): string => `${topic}.parked`;

/**
 * The topic catalog as data. Domain topics keep events forever: they are the
 * system of record that projections are rebuilt from. Dead-letter topics keep
 * records 30 days, long enough to inspect and redrive.
 */
export function topicCatalog(config: Pick<Config, 'topics'>): TopicSpec[] {
  const { partitions, replicationFactor } = config.topics;
  const minIsr = String(Math.min(2, replicationFactor));
  return DOMAIN_TOPICS.flatMap((name) => [
    {
      name,
      partitions,
      replicationFactor,
      config: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'min.insync.replicas': minIsr },
      purpose: `domain events (${name})`,
    },
    {
      name: dlqTopic(name),
      partitions: Math.min(partitions, 3),
      replicationFactor,
      config: { 'cleanup.policy': 'delete', 'retention.ms': String(30 * DAY_MS), 'min.insync.replicas': minIsr },
      purpose: `dead letters of ${name}`,
    },
    {
      name: parkedTopic(name),
      partitions: 1,
      replicationFactor,
      config: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'min.insync.replicas': minIsr },
      purpose: `dead letters of ${name} parked after too many redrives`,
    },
  ]);
}
