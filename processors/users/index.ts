import type { MongoProcessor } from '../runtime/types';
import { HANDLES, usersFold } from './projection';
import { USERS_LOOKUPS } from './queries';
import { topicsOf } from '../runtime/topics';

/**
 * users: store MongoDB (documents: a profile with its roles and links, and the
 * denormalised student 360 are each read whole by id). Owns saga step 2 and its compensation.
 */
export const users: MongoProcessor = {
  name: 'users',
  topics: topicsOf(HANDLES),
  handles: HANDLES,
  store: 'mongo',
  writer: 'instance', // merged chunks: fewer per-chunk writes (measured on bench:pipeline, docs/decisions.md)
  fold: usersFold,
  lookups: USERS_LOOKUPS,
};
