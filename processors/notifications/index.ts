import type { Config } from '../../lib/config';
import type { ProcessorManifest } from '../manifest';
import type { MongoProcessor } from '../runtime/types';
import type { Channels } from './channels';
import { deliverNotification, HANDLES, notificationsFold } from './projection';
import { topicsOf } from '../runtime/topics';

/**
 * notifications: store MongoDB (the log is one document per notification with its
 * status history, read whole). Delivers through the channel adapters (SMTP, webhook,
 * log), emits the lifecycle events, bulk completion, and saga step 6.
 */
/** notifications as data (processors/manifest.ts). */
export const manifest = {
  name: 'notifications',
  store: 'mongo',
  topics: topicsOf(HANDLES),
  handles: HANDLES,
} as const satisfies ProcessorManifest;

export function createNotifications(channels: Channels, config: Pick<Config, 'notifications'>): MongoProcessor {
  return {
    name: manifest.name,
    topics: manifest.topics,
    handles: manifest.handles,
    store: manifest.store,
    writer: 'instance', // merged chunks: fewer per-chunk writes (measured on bench:pipeline, docs/decisions.md)
    fold: notificationsFold(config),
    effect: deliverNotification(channels, config),
    // Each delivery is independent (its own notification id and document): one slow channel call no longer
    // holds up the chunk's others (the saga's slowest hop, bench:saga, docs/decisions.md).
    effectConcurrency: config.notifications.concurrency,
  };
}
