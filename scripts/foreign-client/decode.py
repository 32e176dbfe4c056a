"""Decodes our records with a client we did not write: confluent-kafka's stock
AvroDeserializer, given nothing but the broker and the registry URL.

usage: decode.py <brokers> <registry-url> <topic> <count>
Prints one JSON object per record: {"key", "headers", "value"}; exits 1 on timeout.
"""
import base64
import datetime
import json
import sys
import time
import uuid

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def plain(v):
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, bytes):  # EncryptedString's iv, ciphertext and tag
        return base64.b64encode(v).decode()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def records(brokers, registry, topic, count, timeout_s=60):
    """Yields (message, schema id, decoded value) for the first `count` records of a topic, from the beginning."""
    deserialize = AvroDeserializer(registry)
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"foreign-decode-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    seen, deadline = 0, time.time() + timeout_s
    try:
        while seen < count and time.time() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                raise SystemExit(f"consumer error: {msg.error()}")
            schema_id = int.from_bytes(msg.value()[1:5], "big")  # Confluent wire format: magic 0, 4-byte id, Avro
            yield msg, schema_id, deserialize(msg.value(), SerializationContext(topic, MessageField.VALUE))
            seen += 1
    finally:
        consumer.close()
    if seen < count:
        raise SystemExit(f"timed out: decoded {seen} of {count}")


def line(msg, value):
    headers = {k: v.decode() for k, v in (msg.headers() or [])}
    return json.dumps({"key": msg.key().decode(), "headers": headers, "value": plain(value)}, ensure_ascii=False)


def main():
    brokers, registry_url, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    for msg, _, value in records(brokers, SchemaRegistryClient({"url": registry_url}), topic, count):
        print(line(msg, value), flush=True)


if __name__ == "__main__":
    main()
