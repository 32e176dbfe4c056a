import crypto from 'node:crypto';
import path from 'node:path';
import type pg from 'pg';
import { migrate } from '../migrate';
import { DataKeyNotFoundError, SubjectErasedError, UnknownKekError } from './errors';
import { newDataKeyMaterial, type DataKey } from './field-cipher';
import type { KeyEncryptionKey } from './kek';
import { Lru } from './lru';

export const PRIVACY_MIGRATIONS = path.join(__dirname, 'migrations');

export interface KeyStoreDeps {
  pool: pg.Pool;
  /** PostgreSQL schema holding data_keys (config privacy.schema; tests use a throwaway one). */
  schema: string;
  /** Wraps new data keys; also unwraps. */
  kek: KeyEncryptionKey;
  /** Older KEKs that may still wrap some keys (during a rotation): unwrap only. */
  previousKeks?: KeyEncryptionKey[];
  /** Unwrapped keys kept in memory (LRU by count). */
  cacheSize: number;
  /**
   * How long a cached key is used before it is read again (0: until evicted): bounds how long a process keeps
   * reading a person erased by another process (PRIVACY_KEY_CACHE_TTL_MS).
   */
  cacheTtlMs?: number;
  /** Milliseconds now (tests move it). */
  now?: () => number;
}

export interface KeyStatus {
  subjects: number;
  active: number;
  erased: number;
  /** Active keys per KEK id. */
  byKek: Record<string, number>;
}

interface Row {
  subject: string;
  key_id: string;
  wrapped: Buffer | null;
  kek_id: string | null;
}

const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;
/** Binds a wrapped key to its row: a blob copied to another subject or key id does not unwrap (layout: docs/privacy-decryptor.md). */
export const wrapAad = (subject: string, keyId: string): Buffer =>
  Buffer.from(JSON.stringify(['school-events/data-key/v1', subject, keyId]));

/**
 * Data keys per data subject in PostgreSQL, wrapped by a KEK (envelope encryption, issue 21 item 2).
 * `keyForWriting` gets or creates the subject's key (two processes racing create one); `keyForReading` finds the
 * key a ciphertext names; `erase` shreds a subject's key for good; `rewrap` moves every key to a new KEK without
 * touching an event. Unwrapped keys are cached per process, bounded by count.
 */
export class PgDataKeyStore {
  private readonly cache: Lru<string, { key: DataKey; until: number }>;
  private readonly table: string;
  private keks: KeyEncryptionKey[];
  /** Bumped by every erase here: a load that started before an erase must not cache what it read. */
  private erasures = 0;

  private constructor(private readonly deps: KeyStoreDeps) {
    this.cache = new Lru(deps.cacheSize);
    this.table = `${quote(deps.schema)}.data_keys`;
    this.keks = [deps.kek, ...(deps.previousKeks ?? []).filter((k) => k.id !== deps.kek.id)];
  }

  /** Migrates the schema (idempotent, lib/migrate) and returns the store. */
  static async open(deps: KeyStoreDeps): Promise<PgDataKeyStore> {
    await migrate(deps.pool, deps.schema, PRIVACY_MIGRATIONS);
    return new PgDataKeyStore(deps);
  }

  /**
   * The store over a table that already exists, without migrating: for readers granted only SELECT on
   * `data_keys` (a downstream team's decryptor, schemas/decryptor.ts), who may not create or lock anything.
   */
  static forReading(deps: KeyStoreDeps): PgDataKeyStore {
    return new PgDataKeyStore(deps);
  }

  /** The KEK that wraps new keys. */
  get currentKekId(): string {
    return this.keks[0]!.id;
  }

  /** The subject's data key, created on first use; SubjectErasedError once the subject was erased. */
  async keyForWriting(subject: string): Promise<DataKey> {
    const cached = this.cached(subject);
    if (cached) return cached;
    const epoch = this.erasures;
    const existing = await this.select(subject);
    const row = existing ?? (await this.create(subject)) ?? (await this.select(subject)); // lost the race: the winner's key
    if (!row) throw new Error(`data key of ${subject} neither created nor found`);
    return this.remember(await this.unwrap(row), epoch);
  }

  /** The key a ciphertext names: SubjectErasedError after erasure, DataKeyNotFoundError for an unknown key. */
  async keyForReading(subject: string, keyId: string): Promise<DataKey> {
    const cached = this.cached(subject);
    if (cached && cached.keyId === keyId) return cached;
    const epoch = this.erasures;
    const row = await this.select(subject);
    if (!row || row.key_id !== keyId) throw new DataKeyNotFoundError(subject, keyId);
    return this.remember(await this.unwrap(row), epoch);
  }

  /**
   * Crypto-shredding: deletes the subject's wrapped key, keeping a tombstone so the subject never gets a new key.
   * Returns false when it was already erased (true also for a subject that had no key yet: it never gets one).
   * Other processes' caches keep the key until the erasure event reaches them (`forget`) or its
   * PRIVACY_KEY_CACHE_TTL_MS passes.
   */
  async erase(subject: string): Promise<boolean> {
    this.forget(subject);
    const { rows } = await this.deps.pool.query<{ erased: boolean }>(
      `with before as (select erased_at from ${this.table} where subject = $1)
       insert into ${this.table} as k (subject, key_id, wrapped, kek_id, erased_at) values ($1, $2, null, null, now())
       on conflict (subject) do update set wrapped = null, kek_id = null, erased_at = coalesce(k.erased_at, now())
       returning coalesce((select erased_at is null from before), true) erased`,
      [subject, newKeyId()],
    );
    return rows[0]?.erased ?? false;
  }

  /**
   * Drops the subject's key from this process's cache (user.personal-data.erased from another process): the next
   * read goes to the table and finds the tombstone. A load in flight started before this does not cache its key.
   */
  forget(subject: string): void {
    this.erasures++;
    this.cache.delete(subject);
  }

  /**
   * KEK rotation: re-wraps every active key not yet under `newKek` (unwrapping with the KEK each row names) and
   * makes `newKek` the one that wraps new keys. Events are untouched: their data keys do not change. Idempotent;
   * run again for keys that processes still on the old KEK created meanwhile.
   */
  async rewrap(newKek: KeyEncryptionKey, batchSize = 500): Promise<{ rewrapped: number }> {
    this.keks = [newKek, ...this.keks.filter((k) => k.id !== newKek.id)];
    let after = '';
    let rewrapped = 0;
    for (;;) {
      const { rows } = await this.deps.pool.query<Row>(
        `select subject, key_id, wrapped, kek_id from ${this.table}
          where erased_at is null and kek_id <> $1 and subject > $2 order by subject limit $3`,
        [newKek.id, after, batchSize],
      );
      for (const row of rows) {
        const key = await this.unwrap(row);
        const wrapped = await newKek.wrap(key.material, wrapAad(row.subject, row.key_id));
        const r = await this.deps.pool.query(
          `update ${this.table} set wrapped = $1, kek_id = $2 where subject = $3 and kek_id = $4 and erased_at is null`,
          [wrapped, newKek.id, row.subject, row.kek_id],
        );
        rewrapped += r.rowCount ?? 0;
      }
      if (rows.length < batchSize) return { rewrapped };
      after = rows[rows.length - 1]!.subject;
    }
  }

  async status(): Promise<KeyStatus> {
    const { rows } = await this.deps.pool.query<{ kek_id: string | null; n: string }>(
      `select kek_id, count(*) n from ${this.table} group by kek_id`,
    );
    const byKek: Record<string, number> = {};
    let active = 0;
    let erased = 0;
    for (const r of rows) {
      if (r.kek_id === null) erased += Number(r.n);
      else {
        byKek[r.kek_id] = Number(r.n);
        active += Number(r.n);
      }
    }
    return { subjects: active + erased, active, erased, byKek };
  }

  private async select(subject: string): Promise<Row | undefined> {
    const { rows } = await this.deps.pool.query<Row>(`select subject, key_id, wrapped, kek_id from ${this.table} where subject = $1`, [
      subject,
    ]);
    return rows[0];
  }

  /** Inserts a new key unless the subject has a row already (then undefined: read the winner's). */
  private async create(subject: string): Promise<Row | undefined> {
    const keyId = newKeyId();
    const kek = this.keks[0]!;
    const wrapped = await kek.wrap(newDataKeyMaterial(), wrapAad(subject, keyId));
    const { rows } = await this.deps.pool.query<Row>(
      `insert into ${this.table} (subject, key_id, wrapped, kek_id) values ($1, $2, $3, $4)
       on conflict (subject) do nothing returning subject, key_id, wrapped, kek_id`,
      [subject, keyId, wrapped, kek.id],
    );
    return rows[0];
  }

  private async unwrap(row: Row): Promise<DataKey> {
    if (row.wrapped === null || row.kek_id === null) throw new SubjectErasedError(row.subject);
    const kek = this.keks.find((k) => k.id === row.kek_id);
    if (!kek)
      throw new UnknownKekError(
        `the data key of ${row.subject} is wrapped by KEK ${row.kek_id}, which this process was not given (PRIVACY_KEK, PRIVACY_KEK_PREVIOUS)`,
      );
    const material = await kek.unwrap(row.wrapped, wrapAad(row.subject, row.key_id));
    return { keyId: row.key_id, subject: row.subject, material };
  }

  private remember(key: DataKey, epoch: number): DataKey {
    if (epoch === this.erasures) {
      const ttl = this.deps.cacheTtlMs ?? 0;
      this.cache.set(key.subject, { key, until: ttl > 0 ? this.now() + ttl : Infinity });
    }
    return key;
  }

  /** A cached key still within its time to live. */
  private cached(subject: string): DataKey | undefined {
    const hit = this.cache.get(subject);
    if (!hit) return undefined;
    if (hit.until !== Infinity && hit.until <= this.now()) {
      this.cache.delete(subject);
      return undefined;
    }
    return hit.key;
  }

  private now(): number {
    return this.deps.now ? this.deps.now() : Date.now();
  }
}

const newKeyId = (): string => `dk-${crypto.randomBytes(12).toString('hex')}`;
