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

  it('reads the school day from RULE_SCHOOL_DAY as minutes after midnight (the whole day by default)', () => {
    expect(loadConfig({}).rules.schoolDay).to.deep.equal({ startMinute: 0, endMinute: 1440 });
    expect(loadConfig({ RULE_SCHOOL_DAY: '07:30-24:00' }).rules.schoolDay).to.deep.equal({ startMinute: 450, endMinute: 1440 });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['KAFKA_BROKERS', 'no-port-here', /kafka\.brokers.*KAFKA_BROKERS/],
    ['MONGO_URL', 'http://x:1', /mongo\.url.*mongodb.*MONGO_URL/],
    ['PG_URL', 'not a url', /pg\.url.*PG_URL/],
    ['API_PORT', '70000', /api\.port.*70000.*API_PORT/],
    ['LOG_LEVEL', 'loud', /log\.level.*loud.*LOG_LEVEL/],
    ['RULE_SCHOOL_DAY', '18:00-07:00', /rules\.schoolDay.*HH:MM-HH:MM.*18:00-07:00.*RULE_SCHOOL_DAY/],
    ['RULE_SCHOOL_DAY', '07:00-24:30', /rules\.schoolDay.*24:30.*RULE_SCHOOL_DAY/],
    ['RULE_SCHOOL_DAY', 'mornings', /rules\.schoolDay.*mornings.*RULE_SCHOOL_DAY/],
  ];
  for (const [env, value, expected] of bad) {
    it(`rejects ${env}=${value} with a message naming key, value and env var`, () => {
      expect(() => loadConfig({ [env]: value })).to.throw(ConfigError, expected);
    });
  }
});
