import { expect } from 'chai';
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { createKafka } from '../lib/clients/kafka';
import { TopicConfigError } from '../lib/errors';
import { eventually, randomName, testConfig } from '../test/support';
import { topicCatalog, type TopicSpec } from './catalog';
import { applyTopics } from './provision';

describe('topics: applyTopics (real Kafka)', () => {
  const config = testConfig();
  let admin: Admin;
  const prefix = randomName('it');
  // The real catalog, renamed so the test never touches the product's topics.
  const specs: TopicSpec[] = topicCatalog(config).map((s) => ({ ...s, name: `${prefix}.${s.name}` }));

  before(async () => {
    admin = createKafka(config).admin();
    await admin.connect();
  });
  after(async () => {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  });

  it('creates every topic of the catalog, then changes nothing on a second run', async () => {
    const first = await applyTopics(admin, specs);
    expect(first.map((c) => c.action)).to.deep.equal(specs.map(() => 'created'));
    const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.name) });
    for (const s of specs) expect(meta.topics.find((t) => t.name === s.name)?.partitions).to.have.length(s.partitions);
    const second = await applyTopics(admin, specs);
    expect(second.map((c) => c.action)).to.deep.equal(specs.map(() => 'unchanged'));
  });

  it('aligns a config that drifted and grows partitions', async () => {
    const target = specs[0]!;
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: target.name, configEntries: [{ name: 'retention.ms', value: '1000' }] }],
    });
    // Config changes reach describeConfigs asynchronously in KRaft: wait until the drift is visible.
    await eventually(async () => {
      const d = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: target.name, configNames: ['retention.ms'] }],
      });
      return d.resources[0]?.configEntries[0]?.configValue === '1000' ? true : undefined;
    }, 'the drifted retention.ms to be visible');
    const grown = { ...target, partitions: target.partitions + 2 };
    const changes = await applyTopics(admin, [grown]);
    expect(changes).to.deep.include({
      topic: target.name,
      action: 'partitions-increased',
      from: target.partitions,
      to: target.partitions + 2,
    });
    expect(changes).to.deep.include({
      topic: target.name,
      action: 'config-aligned',
      changed: { 'retention.ms': { from: '1000', to: '-1' } },
    });
    expect(await applyTopics(admin, [grown])).to.deep.equal([{ topic: target.name, action: 'unchanged' }]);
  });

  it('refuses to shrink partitions with a clear error', async () => {
    const target = specs[1]!;
    const err = await applyTopics(admin, [{ ...target, partitions: 1 }]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(TopicConfigError);
    expect((err as Error).message).to.match(new RegExp(`refusing to shrink.*${target.name} has ${target.partitions}, catalog says 1`));
  });
});
