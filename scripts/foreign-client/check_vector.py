"""Checks decryptor.py against the test vector of docs/privacy-decryptor.md (the layout TypeScript writes).

usage: check_vector.py <path of docs/privacy-decryptor.md>; prints "ok", exits 1 naming the first mismatch.
"""
import re
import sys

from decryptor import field_aad, kek_id, open_gcm, wrap_aad


def main():
    doc = open(sys.argv[1], encoding="utf-8").read()
    block = re.search(r"## Test vector.*?```text\n(.*?)```", doc, re.S).group(1)
    v = dict(re.split(r"\s+=\s+", line, maxsplit=1) for line in block.strip().splitlines())
    h = lambda k: bytes.fromhex(v[k])  # noqa: E731
    aad = field_aad(v["keyId"], v["subject"], v["eventId"], v["fieldPath"])
    checks = {
        "aad": aad.hex() == v["aad"],
        "plaintext": open_gcm(h("material"), h("iv"), h("ciphertext"), h("tag"), aad).decode() == v["plaintext"],
        "kekId": kek_id(h("kek")) == v["kekId"],
        "wrapAad": wrap_aad(v["subject"], v["keyId"]).decode() == v["wrapAad"],
        "wrapped": open_gcm(h("kek"), h("wrapped")[:12], h("wrapped")[28:], h("wrapped")[12:28], wrap_aad(v["subject"], v["keyId"])) == h("material"),
    }
    bad = [k for k, good in checks.items() if not good]
    if bad:
        raise SystemExit(f"differs from the documented test vector: {', '.join(bad)}")
    print("ok")


if __name__ == "__main__":
    main()
