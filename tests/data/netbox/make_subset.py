"""Cut the part of NetBox's OpenAPI schema that the sync uses out of the whole document.

    python tests/data/netbox/make_subset.py netbox-4.2.9-openapi.json.gz

The input is ``/api/schema/?format=json`` of a running NetBox 4.2.9; the output,
``netbox-4.2.9-subset.json.gz`` beside this script, keeps the listed paths, the listed extra
schemas and every component schema they reference (transitively), unchanged.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

PATHS = (
    "/api/status/",
    "/api/extras/tags/",
    "/api/dcim/sites/",
    "/api/dcim/device-roles/",
    "/api/dcim/manufacturers/",
    "/api/dcim/device-types/",
    "/api/dcim/platforms/",
    "/api/dcim/devices/",
    "/api/dcim/interfaces/",
    "/api/dcim/mac-addresses/",
    "/api/dcim/cables/",
    "/api/ipam/ip-addresses/",
    "/api/tenancy/tenants/",
    "/api/dcim/racks/",
)
#: Schemas NetBox uses for untyped ``object``/``assigned_object`` fields (a nested interface).
EXTRA_SCHEMAS = ("BriefInterface",)
OUT = Path(__file__).with_name("netbox-4.2.9-subset.json.gz")


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def subset(doc: dict[str, Any]) -> dict[str, Any]:
    paths = {p: doc["paths"][p] for p in PATHS}
    schemas = doc["components"]["schemas"]
    keep: set[str] = set()
    todo: set[str] = set(EXTRA_SCHEMAS)
    _refs(paths, todo)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        _refs(schemas[name], todo)
    return {
        "openapi": doc["openapi"],
        "info": doc["info"],
        "paths": paths,
        "components": {
            "schemas": {k: schemas[k] for k in sorted(keep)},
            "securitySchemes": doc["components"]["securitySchemes"],
        },
        "security": doc.get("security", []),
    }


if __name__ == "__main__":
    source = json.loads(gzip.decompress(Path(sys.argv[1]).read_bytes()))
    data = json.dumps(subset(source), sort_keys=True, separators=(",", ":")).encode()
    OUT.write_bytes(gzip.compress(data, mtime=0))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
