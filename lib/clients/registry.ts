import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from '../config';

export function createSchemaRegistry(config: Pick<Config, 'registry'>): SchemaRegistry {
  return new SchemaRegistry({ host: config.registry.url.replace(/\/$/, ''), clientId: 'school-events' });
}
