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


def main():
    brokers, registry_url, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"foreign-decode-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    seen, deadline = 0, time.time() + 60
    while seen < count and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            raise SystemExit(f"consumer error: {msg.error()}")
        value = deserialize(msg.value(), SerializationContext(topic, MessageField.VALUE))
        headers = {k: v.decode() for k, v in (msg.headers() or [])}
        print(json.dumps({"key": msg.key().decode(), "headers": headers, "value": plain(value)}, ensure_ascii=False), flush=True)
        seen += 1
    consumer.close()
    if seen < count:
        raise SystemExit(f"timed out: decoded {seen} of {count}")


if __name__ == "__main__":
    main()
