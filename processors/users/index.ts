import type { ProcessorManifest } from '../manifest';
import { createCollectionIfMissing } from '../runtime/mongo-store';
import type { MongoProcessor } from '../runtime/types';
import type { Clock } from '../../lib/clock';
import type { Rules } from '../../lib/config';
import { PARKED_LINKS } from './handlers';
import { parkedLinkGauges } from './links';
import { HANDLES, usersFold } from './projection';
import { USERS_LOOKUPS } from './queries';
import { topicsOf } from '../runtime/topics';

/**
 * users: store MongoDB (documents: a profile with its roles and links, and the
 * denormalised student 360 are each read whole by id). Owns saga step 2 and its compensation. A parent link
 * waits in `parked_links` until its parent is known as a PARENT (links.ts).
 */
/** users as data (processors/manifest.ts). */
export const manifest = {
  name: 'users',
  store: 'mongo',
  topics: topicsOf(HANDLES),
  handles: HANDLES,
  lookups: USERS_LOOKUPS,
} as const satisfies ProcessorManifest;

/** users with its gauges (the parked links', stale after `rules.parkedStaleMs`), for the processes that run it. */
export function createUsers(rules: Pick<Rules, 'parkedStaleMs'>, clock: Clock): MongoProcessor {
  return { ...users, gauges: parkedLinkGauges(rules.parkedStaleMs, clock) };
}

export const users: MongoProcessor = {
  name: manifest.name,
  topics: manifest.topics,
  handles: manifest.handles,
  store: manifest.store,
  writer: 'instance', // merged chunks: fewer per-chunk writes (measured on bench:pipeline, docs/decisions.md)
  fold: usersFold,
  lookups: manifest.lookups,
  // Parked parent links live in their own collection, there (empty) in every version, live or rebuilt alike.
  init: (db) => createCollectionIfMissing(db, PARKED_LINKS),
};
