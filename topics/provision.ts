import type { Admin } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import { TopicConfigError } from '../lib/errors';
import type { TopicSpec } from './catalog';

export type TopicChange =
  | { topic: string; action: 'created'; partitions: number }
  | { topic: string; action: 'partitions-increased'; from: number; to: number }
  | { topic: string; action: 'config-aligned'; changed: Record<string, { from: string | undefined; to: string }> }
  | { topic: string; action: 'unchanged' };

/**
 * Creates missing topics, adds partitions, and aligns drifted configs. Idempotent:
 * a second run reports every topic unchanged. Refuses to shrink partitions (Kafka cannot).
 */
export async function applyTopics(admin: Admin, specs: TopicSpec[]): Promise<TopicChange[]> {
  const existing = new Set(await admin.listTopics());
  const toCreate = specs.filter((s) => !existing.has(s.name));
  const present = specs.filter((s) => existing.has(s.name));
  const changes: TopicChange[] = [];

  const metadata = present.length ? await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) }) : { topics: [] };
  const partitionCount = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
  const shrinking = present.filter((s) => (partitionCount.get(s.name) ?? 0) > s.partitions);
  if (shrinking.length) {
    throw new TopicConfigError(
      `refusing to shrink partitions (Kafka cannot remove partitions; recreate the topic instead): ${shrinking
        .map((s) => `${s.name} has ${partitionCount.get(s.name)}, catalog says ${s.partitions}`)
        .join('; ')}`,
    );
  }

  if (toCreate.length) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: toCreate.map((s) => ({
        topic: s.name,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
      })),
    });
    for (const s of toCreate) changes.push({ topic: s.name, action: 'created', partitions: s.partitions });
  }

  const grow = present.filter((s) => (partitionCount.get(s.name) ?? 0) < s.partitions);
  if (grow.length) await admin.createPartitions({ topicPartitions: grow.map((s) => ({ topic: s.name, count: s.partitions })) });

  const described = present.length
    ? await admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.name, configNames: Object.keys(s.config) })),
      })
    : { resources: [] };
  const actual = new Map(
    described.resources.map((r) => [r.resourceName, new Map(r.configEntries.map((e) => [e.configName, e.configValue]))]),
  );

  for (const s of present) {
    const now = actual.get(s.name) ?? new Map<string, string>();
    const changed: Record<string, { from: string | undefined; to: string }> = {};
    for (const [k, v] of Object.entries(s.config)) if (now.get(k) !== v) changed[k] = { from: now.get(k), to: v };
    if (Object.keys(changed).length) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: s.name,
            configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
          },
        ],
      });
    }
    const from = partitionCount.get(s.name) ?? 0;
    if (from < s.partitions) changes.push({ topic: s.name, action: 'partitions-increased', from, to: s.partitions });
    if (Object.keys(changed).length) changes.push({ topic: s.name, action: 'config-aligned', changed });
    if (from >= s.partitions && !Object.keys(changed).length) changes.push({ topic: s.name, action: 'unchanged' });
  }
  return changes;
}
