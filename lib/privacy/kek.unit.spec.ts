import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config';
import { ConfigError } from '../errors';
import { KeyUnwrapError } from './errors';
import { LocalKek, loadKek, loadPreviousKek } from './kek';
import { Lru } from './lru';

describe('key-encryption keys (local implementation) and config', () => {
  const aad = Buffer.from('USR-1/dk-1');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kek-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('wraps and unwraps; another KEK or other associated data fails with KeyUnwrapError', async () => {
    const kek = new LocalKek(crypto.randomBytes(32));
    const dataKey = crypto.randomBytes(32);
    const wrapped = await kek.wrap(dataKey, aad);
    expect(wrapped.includes(dataKey)).to.equal(false);
    expect((await kek.unwrap(wrapped, aad)).equals(dataKey)).to.equal(true);
    const other = new LocalKek(crypto.randomBytes(32));
    expect(other.id).not.to.equal(kek.id);
    for (const p of [other.unwrap(wrapped, aad), kek.unwrap(wrapped, Buffer.from('USR-2/dk-1'))]) {
      const e = await p.then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).to.be.instanceOf(KeyUnwrapError).and.include({ code: 'PRIVACY_KEY_UNWRAP_FAILED', retriable: false });
    }
  });

  it('its id is a stable fingerprint, not the key', () => {
    const material = crypto.randomBytes(32);
    const id = new LocalKek(material).id;
    expect(id)
      .to.equal(new LocalKek(Buffer.from(material)).id)
      .and.match(/^local:[0-9a-f]{16}$/);
    expect(id).not.to.include(material.toString('hex').slice(0, 16));
  });

  it('PRIVACY_KEK / PRIVACY_KEK_PREVIOUS: base64 of 32 bytes; anything else is a ConfigError that never echoes the value', () => {
    const good = crypto.randomBytes(32).toString('base64');
    const c = loadConfig({ PRIVACY_KEK: good, PRIVACY_KEK_PREVIOUS: crypto.randomBytes(32).toString('base64') });
    expect(loadKek(c).id).to.equal(new LocalKek(Buffer.from(good, 'base64')).id);
    expect(loadPreviousKek(c)?.id).to.match(/^local:/);
    expect(loadPreviousKek(loadConfig({}))).to.equal(undefined);
    const secret = crypto.randomBytes(16).toString('base64');
    expect(() => loadConfig({ PRIVACY_KEK: secret }))
      .to.throw(ConfigError, /privacy\.kek: must be the base64 of 32 bytes \(AES-256\), got 16 bytes \(set by PRIVACY_KEK\)/)
      .with.property('message')
      .that.does.not.include(secret);
    expect(() => loadConfig({ PRIVACY_KEK_PREVIOUS: 'not base64!' })).to.throw(ConfigError, /PRIVACY_KEK_PREVIOUS/);
    expect(() => loadConfig({ PRIVACY_KEY_CACHE_SIZE: '0' })).to.throw(ConfigError, /PRIVACY_KEY_CACHE_SIZE/);
  });

  it('without PRIVACY_KEK: a local file generated once (0600) and reused; refused in production', () => {
    const file = path.join(dir, 'sub', 'kek');
    const config = loadConfig({ PRIVACY_KEK_FILE: file });
    const first = loadKek(config).id;
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(loadKek(config).id).to.equal(first);
    expect(() => loadKek(loadConfig({ PRIVACY_KEK_FILE: file, NODE_ENV: 'production' }))).to.throw(ConfigError, /PRIVACY_KEK is required/);
    fs.writeFileSync(file, 'c2hvcnQ=\n');
    expect(() => loadKek(config)).to.throw(ConfigError, /must hold the base64 of 32 bytes/);
  });

  it('the key cache is an LRU bounded by count', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).to.equal(1); // a is now the newest
    lru.set('c', 3);
    expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.size]).to.deep.equal([1, undefined, 3, 2]);
    lru.delete('a');
    expect(lru.get('a')).to.equal(undefined);
    expect(() => new Lru(0)).to.throw(/>= 1/);
  });
});
