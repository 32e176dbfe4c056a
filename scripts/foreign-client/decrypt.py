"""Decodes our records with the stock confluent-kafka AvroDeserializer, as decode.py does, then opens their
personal fields with key access (decryptor.py).

usage: PRIVACY_KEK=<base64> PG_URL=<postgres url> [PRIVACY_SCHEMA=privacy] decrypt.py <brokers> <registry-url> <topic> <count>
Prints one JSON object per record, as decode.py does: personal fields in plaintext, an erased person's as "[erased]"
(a date as null). Exits 2 without key access, 3 naming the error when a value does not open.
"""
import base64
import json
import os
import sys

import psycopg
from confluent_kafka.schema_registry import SchemaRegistryClient

from decode import line, records
from decryptor import KeyStore, Unreadable, decrypt_event, personal_slots


def main():
    brokers, registry_url, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    kek, pg_url = os.environ.get("PRIVACY_KEK"), os.environ.get("PG_URL")
    if not kek or not pg_url:
        print("PRIVACY_KEK and PG_URL are required (without key access, decode.py shows the encrypted values)", file=sys.stderr)
        sys.exit(2)
    registry = SchemaRegistryClient({"url": registry_url})
    slots = {}  # per writer schema id: the registered schema carries the pii annotations
    with psycopg.connect(pg_url) as conn:
        keys = KeyStore(conn, [base64.b64decode(kek)], os.environ.get("PRIVACY_SCHEMA", "privacy"))
        for msg, schema_id, value in records(brokers, registry, topic, count):
            if schema_id not in slots:
                slots[schema_id] = personal_slots(json.loads(registry.get_schema(schema_id).schema_str))
            try:
                decrypt_event(value, slots[schema_id], keys)
            except Unreadable as e:
                print(str(e), file=sys.stderr)
                sys.exit(3)
            print(line(msg, value), flush=True)


if __name__ == "__main__":
    main()
