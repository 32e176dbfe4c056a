"""Validates Kubernetes manifests offline, for scripts/k8s-validate.ts.

usage: validate.py --kubernetes-version 1.31 [--crd FILE]... --out RESULT.json FILE...

Built-in kinds are checked against the JSON schemas bundled in kubernetes-validate, in
strict mode (unknown fields are errors, as `kubectl apply --validate=strict` would say).
Kinds defined by a --crd file (KEDA's ScaledObject) are checked against the CRD's
openAPIV3Schema, also made strict. A kind with no schema at all is an error, so nothing
passes unchecked. Writes {"files": [{"file", "docs", "errors"}]} to --out; exit code 0.
"""
import argparse
import copy
import json
import sys

import jsonschema
import kubernetes_validate
import yaml


def strict(schema):
    """Rejects unknown fields where the CRD lists the fields (the API server's strict field validation)."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def load_crds(paths):
    schemas = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for v in crd["spec"]["versions"]:
                    s = copy.deepcopy(v["schema"]["openAPIV3Schema"])
                    schemas[(f"{group}/{v['name']}", kind)] = strict(s)
    return schemas


def where(path):
    return ".".join(str(p) for p in path) or "(top level)"


def validate_doc(doc, version, crds):
    if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
        return ["not a Kubernetes object (apiVersion and kind are required)"]
    key = (doc["apiVersion"], doc["kind"])
    if key in crds:
        validator = jsonschema.Draft7Validator(crds[key])
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        return [f"{where(e.absolute_path)}: {e.message}" for e in errors]
    try:
        kubernetes_validate.validate(doc, version, strict=True)
        return []
    except kubernetes_validate.ValidationError as e:
        return [f"{where(e.path)}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {doc['apiVersion']} {doc['kind']} in Kubernetes {version} nor in the given CRDs"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubernetes-version", required=True)
    ap.add_argument("--crd", action="append", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    crds = load_crds(args.crd)
    results = []
    for path in args.files:
        entry = {"file": path, "docs": [], "errors": []}
        try:
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except (OSError, yaml.YAMLError) as e:
            entry["errors"].append(f"cannot parse: {e}")
            docs = []
        for doc in docs:
            name = doc.get("metadata", {}).get("name", "?") if isinstance(doc, dict) else "?"
            label = f"{doc.get('kind', '?') if isinstance(doc, dict) else '?'}/{name}"
            entry["docs"].append(doc)
            entry["errors"].extend(f"{label}: {m}" for m in validate_doc(doc, args.kubernetes_version, crds))
        results.append(entry)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"files": results}, f)


if __name__ == "__main__":
    sys.exit(main())
