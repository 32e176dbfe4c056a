import type { Config } from '../../lib/config';

/**
 * Where projections live, named in one place. Live: Postgres schema `proj_<name>`; the Mongo projections
 * share the configured database. An isolated run (tests, chaos, benches) uses its own name as the prefix
 * instead (`<run>_<name>`) and as the database. A Mongo projection has no schema of its own: a rebuild
 * names it within its database the same way (`<database>_<name>`).
 */
export const projectionSchema = (name: string, run = 'proj'): string => `${run}_${name}`;

export const projectionDb = (config: Pick<Config, 'mongo'>, run?: string): string => run ?? config.mongo.db;

/** A rebuild's versioned target, and the name the live schema is kept under after the switch. */
export const rebuildSchema = (live: string, stamp: string): string => `${live}_v${stamp}`;
export const retiredSchema = (live: string, stamp: string): string => `${live}_old_${stamp}`;

/** A read-only snapshot `--until` builds (a schema, or a database for Mongo). */
export const snapshotName = (name: string, label: string): string => `snap_${name}_${label.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;

/** The throwaway rebuild `projections:verify` compares the live projection with. */
export const verifyName = (name: string, stamp: string): string => `verify_${name}_${stamp}`;
