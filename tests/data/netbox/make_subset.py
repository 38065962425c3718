"""Cut the part of NetBox's OpenAPI schema that the sync uses out of the whole document.

    python tests/data/netbox/make_subset.py netbox-4.2.9-openapi.json.gz

The input is ``/api/schema/?format=json`` of a running NetBox 4.2.9; the output,
``netbox-4.2.9-subset.json.gz`` beside this script, keeps the listed paths, the listed extra
schemas and every component schema they reference (transitively), unchanged.

    python tests/data/netbox/make_subset.py --graft openapi-4.2.2.yaml

adds the ``GRAFTED`` paths to the existing subset from NetBox 4.2.2's schema as go-netbox
publishes it (``api/openapi.yaml`` of its v4.2.2 release), the only 4.2 schema document at
hand. go-netbox rewrites two things, which ``_as_netbox`` undoes: related-object request
fields lose NetBox's ``oneOf: [integer, Brief...Request]`` (they keep only the Brief object),
and nullable choice fields lose ``null`` from their ``enum``. The graft refuses to run unless
undoing them gives back, exactly, every request schema both documents hold (apart from the
few that 4.2.3-4.2.9 changed themselves), and takes from the donor only schemas the subset
lacks: the VLAN object schema already shipped (4.2.9's own) is kept.
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
GRAFTED = ("/api/ipam/vlans/",)
#: Request schemas that NetBox changed between 4.2.2 and 4.2.9 (new interface types, nullable
#: images): they are not expected to match after ``_as_netbox``.
_CHANGED_SINCE = {
    "DeviceTypeRequest",
    "WritableDeviceTypeRequest",
    "InterfaceRequest",
    "WritableInterfaceRequest",
}


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


def _as_netbox_prop(prop: dict[str, Any]) -> dict[str, Any]:
    one = prop.get("allOf")
    target = (one[0] if one and len(one) == 1 else prop).get("$ref", "")
    if "/Brief" in target and target.endswith("Request"):
        rest = {k: v for k, v in prop.items() if k not in ("allOf", "$ref")}
        inner: dict[str, Any] = {"allOf": one} if one else {"$ref": target}
        if one and prop.get("nullable"):
            inner["nullable"] = True
        return {**rest, "oneOf": [{"type": "integer"}, inner]}
    if "enum" in prop and prop.get("nullable") and None not in prop["enum"]:
        return {**prop, "enum": [*prop["enum"], None]}
    return prop


def _as_netbox(schema: dict[str, Any]) -> dict[str, Any]:
    if "properties" not in schema:
        return schema
    return {
        **schema,
        "properties": {k: _as_netbox_prop(v) for k, v in schema["properties"].items()},
    }


def graft(current: dict[str, Any], donor: dict[str, Any]) -> dict[str, Any]:
    mine, theirs = current["components"]["schemas"], donor["components"]["schemas"]
    for name in sorted(n for n in mine if n.endswith("Request") and n not in _CHANGED_SINCE):
        if name in theirs and _as_netbox(theirs[name]) != mine[name]:
            raise SystemExit(f"{name}: the donor differs beyond go-netbox's known rewrites")
    paths = {**current["paths"], **{p: donor["paths"][p] for p in GRAFTED}}
    todo: set[str] = set()
    _refs([donor["paths"][p] for p in GRAFTED], todo)
    schemas = dict(mine)
    while todo:
        name = todo.pop()
        if name in schemas:
            continue
        schemas[name] = _as_netbox(theirs[name])
        _refs(schemas[name], todo)
    return {
        **current,
        "paths": paths,
        "components": {
            **current["components"],
            "schemas": {k: schemas[k] for k in sorted(schemas)},
        },
    }


if __name__ == "__main__":
    if sys.argv[1] == "--graft":
        import yaml

        current = json.loads(gzip.decompress(OUT.read_bytes()))
        result = graft(current, yaml.safe_load(Path(sys.argv[2]).read_text()))
    else:
        result = subset(json.loads(gzip.decompress(Path(sys.argv[1]).read_bytes())))
    data = json.dumps(result, sort_keys=True, separators=(",", ":")).encode()
    OUT.write_bytes(gzip.compress(data, mtime=0))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
