"""Opens the personal fields of our events for a consumer with key access (issue 21 item 4).

Self-contained: copy this file. It needs `cryptography` and `psycopg`, the key-encryption key (PRIVACY_KEK) and
read access to the key table; it does not need our code. The byte layouts are those of lib/privacy/field-cipher.ts
and lib/privacy/kek.ts + key-store.ts, described in docs/privacy-decryptor.md; which fields are personal, and whose
they are, it reads from the writer schema's own annotations ("pii": true, "piiSubject").

    keys = KeyStore(psycopg.connect(pg_url), [base64.b64decode(kek)], schema="privacy")
    slots = personal_slots(json.loads(registry.get_schema(schema_id).schema_str))
    decrypt_event(value, slots, keys)   # value as confluent-kafka's AvroDeserializer returns it; changed in place
"""
import datetime
import hashlib
import json
import time
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql

FIELD_AD_VERSION = "school-events/field/v1"
WRAP_AD_VERSION = "school-events/data-key/v1"
ERASED_MARKER = "[erased]"  # what an erased person's string field reads as; a date field reads as None
IV_BYTES, TAG_BYTES = 12, 16


class Unreadable(Exception):
    """A personal value that does not open: wrong key or context, changed bytes, unknown key or KEK. Not retriable."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code


def field_aad(key_id, subject, event_id, field_path):
    """Associated data of one encrypted value: each part as a 4-byte big-endian length and its UTF-8 bytes."""
    out = b""
    for part in (FIELD_AD_VERSION, key_id, subject, event_id, field_path):
        b = part.encode("utf-8")
        out += len(b).to_bytes(4, "big") + b
    return out


def wrap_aad(subject, key_id):
    """Associated data of a wrapped data key: JavaScript's JSON.stringify of the array, no spaces."""
    return json.dumps([WRAP_AD_VERSION, subject, key_id], separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def kek_id(kek):
    """The id stored beside each wrapped key (a fingerprint of the KEK, not the KEK)."""
    return "local:" + hashlib.sha256(b"school-events/kek-id" + kek).hexdigest()[:16]


def open_gcm(key, iv, ciphertext, tag, aad):
    """AES-256-GCM decryption; `cryptography` wants the tag after the ciphertext. InvalidTag when anything differs."""
    return AESGCM(key).decrypt(iv, ciphertext + tag, aad)


class KeyStore:
    """Data keys from `<schema>.data_keys`, unwrapped with the KEK each row names, each cached for `ttl_s` seconds:
    the bound on how long this process still reads a person after their erasure, unless it calls `forget`. At most
    `max_keys` are kept (the oldest go first)."""

    def __init__(self, conn, keks, schema="privacy", ttl_s=60.0, max_keys=1000):
        for k in keks:
            if len(k) != 32:
                raise ValueError("a key-encryption key is 32 bytes")
        self._keks = {kek_id(k): k for k in keks}
        self._conn = conn
        self._query = sql.SQL("select key_id, wrapped, kek_id from {}.data_keys where subject = %s").format(sql.Identifier(schema))
        self._ttl_s, self._max_keys = ttl_s, max_keys
        self._cache = {}  # (subject, key id) -> (key or None, monotonic deadline)

    def data_key(self, subject, key_id):
        """The 32-byte data key, or None when the subject was erased (crypto-shredded)."""
        hit = self._cache.get((subject, key_id))
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        with self._conn.cursor() as cur:
            cur.execute(self._query, (subject,))
            row = cur.fetchone()
        self._conn.rollback()  # a read-only lookup: no transaction left open between records
        if row is None or row[0] != key_id:
            raise Unreadable("PRIVACY_DATA_KEY_NOT_FOUND", f"no data key {key_id} for {subject}")
        wrapped, wrapped_by = row[1], row[2]
        if wrapped is None:  # the tombstone of an erasure: wrapped and kek_id are null
            key = None
        else:
            kek = self._keks.get(wrapped_by)
            if kek is None:
                raise Unreadable("PRIVACY_KEK_UNKNOWN", f"the data key of {subject} is wrapped by KEK {wrapped_by}, which was not given")
            blob = bytes(wrapped)  # iv (12) | tag (16) | wrapped key (32)
            try:
                key = open_gcm(kek, blob[:IV_BYTES], blob[IV_BYTES + TAG_BYTES:], blob[IV_BYTES:IV_BYTES + TAG_BYTES], wrap_aad(subject, key_id))
            except InvalidTag:
                raise Unreadable("PRIVACY_KEY_UNWRAP_FAILED", f"the data key of {subject} does not unwrap under KEK {wrapped_by}") from None
        self._cache.pop((subject, key_id), None)  # an expired entry: re-inserted as the newest
        if len(self._cache) >= self._max_keys:
            del self._cache[next(iter(self._cache))]
        self._cache[(subject, key_id)] = (key, time.monotonic() + self._ttl_s)
        return key

    def forget(self, subject):
        """Drops a subject's cached key: call it on user.personal-data.erased (key = the user id)."""
        self._cache = {k: v for k, v in self._cache.items() if k[0] != subject}


@dataclass
class Slot:
    name: str           # dotted path, e.g. payload.email
    path: list          # ["payload", "email"]
    subject_path: list  # path of the field naming the person, or None (then the value is never encrypted)
    shape: str          # "one", "array" or "map"
    date: bool          # an Avro date on the plaintext branch: the encrypted branch holds the ISO date


def _short(name):
    return name.rsplit(".", 1)[-1]


def _is_encrypted_ref(t):
    return (t.get("name") == "EncryptedString") if isinstance(t, dict) else isinstance(t, str) and _short(t) == "EncryptedString"


def personal_slots(schema):
    """The personal fields a writer schema declares, in field order (as schemas/personal-fields.ts reads them)."""
    named = {}

    def collect(t):
        if isinstance(t, list):
            for x in t:
                collect(x)
        elif isinstance(t, dict):
            if t.get("type") == "record" and isinstance(t.get("name"), str):
                named[_short(t["name"])] = t
            for x in t.values():
                collect(x)

    collect(schema)
    out = []

    def walk(rec, prefix):
        for f in rec.get("fields", []):
            path = prefix + [f["name"]]
            types = f["type"] if isinstance(f["type"], list) else [f["type"]]
            branches = [b for b in types if b != "null" and not _is_encrypted_ref(b)]
            t = branches[0] if len(branches) == 1 else None
            if f.get("pii") is True:
                shape = t["type"] if isinstance(t, dict) and t.get("type") in ("array", "map") else "one"
                subject = prefix + [f["piiSubject"]] if isinstance(f.get("piiSubject"), str) else None
                date = isinstance(t, dict) and t.get("logicalType") == "date"
                out.append(Slot(".".join(path), path, subject, shape, date))
                continue
            inner = named.get(_short(t), t) if isinstance(t, str) else t
            if isinstance(inner, dict) and inner.get("type") == "record":
                walk(inner, path)

    walk(schema, [])
    return out


def is_encrypted(v):
    return isinstance(v, dict) and isinstance(v.get("keyId"), str) and isinstance(v.get("ciphertext"), bytes)


def _get(o, path):
    for k in path:
        o = o.get(k) if isinstance(o, dict) else None
    return o


def decrypt_value(keys, subject, event_id, field_path, enc, date=False):
    """One EncryptedString: its plaintext (a datetime.date for a date field), or the erased marker (None for a date)."""
    if enc["subject"] != subject:
        raise Unreadable("PERSONAL_FIELD_UNREADABLE", f"{field_path} of {event_id} belongs to {enc['subject']}, not {subject}")
    key = keys.data_key(subject, enc["keyId"])
    if key is None:
        return None if date else ERASED_MARKER
    if len(enc["iv"]) != IV_BYTES or len(enc["tag"]) != TAG_BYTES:
        raise Unreadable("PERSONAL_FIELD_UNREADABLE", f"{field_path} of {event_id}: malformed iv or tag")
    try:
        text = open_gcm(key, enc["iv"], enc["ciphertext"], enc["tag"], field_aad(enc["keyId"], subject, event_id, field_path)).decode("utf-8")
    except InvalidTag:
        raise Unreadable("PERSONAL_FIELD_UNREADABLE", f"{field_path} of {event_id} does not authenticate (wrong key, context or bytes)") from None
    return datetime.date.fromisoformat(text) if date else text


def decrypt_event(event, slots, keys):
    """Opens every EncryptedString of a decoded event in place (plaintext values are left as they are); returns it."""
    # fastavro gives a uuid logical type as uuid.UUID; our event ids are canonical lowercase, as str() prints them.
    event_id = str(event["eventId"]) if isinstance(event["eventId"], uuid.UUID) else event["eventId"]
    for s in slots:
        parent = _get(event, s.path[:-1])
        last = s.path[-1]
        if not isinstance(parent, dict) or parent.get(last) is None:
            continue
        subject = _get(event, s.subject_path) if s.subject_path else None

        def open_one(v, field_path):
            if not is_encrypted(v):
                return v
            if not isinstance(subject, str):
                raise Unreadable("PERSONAL_FIELD_UNREADABLE", f"{field_path} of {event_id}: the event does not name its subject")
            return decrypt_value(keys, subject, event_id, field_path, v, s.date)

        value = parent[last]
        if s.shape == "array" and isinstance(value, list):
            parent[last] = [open_one(v, f"{s.name}[{i}]") for i, v in enumerate(value)]
        elif s.shape == "map" and isinstance(value, dict):
            parent[last] = {k: open_one(v, f"{s.name}[{k}]") for k, v in value.items()}
        else:
            parent[last] = open_one(value, s.name)
    return event
