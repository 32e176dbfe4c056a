import { MongoClient, type MongoClientOptions } from 'mongodb';
import type { Config } from '../config';

export function createMongoClient(config: Pick<Config, 'mongo'>, options: MongoClientOptions = {}): MongoClient {
  return new MongoClient(config.mongo.url, { serverSelectionTimeoutMS: 5000, maxPoolSize: config.mongo.maxPoolSize, ...options });
}
