import { expect } from 'chai';
import { loadConfig } from './config';
import { ConfigError } from './errors';

describe('config', () => {
  it('loads defaults that point at the local stack', () => {
    const c = loadConfig({});
    expect(c.kafka.brokers).to.deep.equal(['127.0.0.1:9092']);
    expect(c.topics.partitions).to.equal(6);
  });

  it('parses a broker list from KAFKA_BROKERS', () => {
    expect(loadConfig({ KAFKA_BROKERS: 'a:1, b:2' }).kafka.brokers).to.deep.equal(['a:1', 'b:2']);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['KAFKA_BROKERS', 'no-port-here', /kafka\.brokers.*KAFKA_BROKERS/],
    ['MONGO_URL', 'http://x:1', /mongo\.url.*mongodb.*MONGO_URL/],
    ['PG_URL', 'not a url', /pg\.url.*PG_URL/],
    ['API_PORT', '70000', /api\.port.*70000.*API_PORT/],
    ['LOG_LEVEL', 'loud', /log\.level.*loud.*LOG_LEVEL/],
  ];
  for (const [env, value, expected] of bad) {
    it(`rejects ${env}=${value} with a message naming key, value and env var`, () => {
      expect(() => loadConfig({ [env]: value })).to.throw(ConfigError, expected);
    });
  }
});
