"""The fake NetBox's objects: stored as written (foreign keys as ids), rendered as NetBox 4.2
renders them (nested brief objects, choice fields as value/label, every schema property)."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime
from typing import Any

from support.netbox_fake._schema import Schema, choice_labels

__all__ = ["COLLECTIONS", "Store"]

COLLECTIONS = (
    "extras/tags",
    "tenancy/tenants",
    "dcim/sites",
    "dcim/racks",
    "dcim/device-roles",
    "dcim/manufacturers",
    "dcim/device-types",
    "dcim/platforms",
    "dcim/devices",
    "dcim/interfaces",
    "dcim/mac-addresses",
    "dcim/cables",
    "ipam/ip-addresses",
    "ipam/vlans",
)
_GENERIC = {"dcim.interface": "dcim/interfaces"}
_SELF_REF = {"lag": "dcim/interfaces", "parent": "dcim/interfaces", "bridge": "dcim/interfaces"}


def _ref_name(node: Any) -> str | None:
    """``Site`` for a property written as an id or a ``BriefSiteRequest``."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if "/Brief" in ref and ref.endswith("Request"):
            return str(ref.rsplit("/Brief", 1)[1].removesuffix("Request"))
        for value in node.values():
            found = _ref_name(value)
            if found:
                return found
    if isinstance(node, list):
        for value in node:
            found = _ref_name(value)
            if found:
                return found
    return None


class Store:
    def __init__(self, schema: Schema, base_url: str) -> None:
        self.schema = schema
        self.base_url = base_url.rstrip("/")
        self.objects: dict[str, dict[int, dict[str, Any]]] = {c: {} for c in COLLECTIONS}
        self._ids = itertools.count(1)
        by_name = {schema.object_schema(f"/api/{c}/"): c for c in COLLECTIONS}
        by_name["Device"] = "dcim/devices"
        self.object_schema = {c: schema.object_schema(f"/api/{c}/") for c in COLLECTIONS}
        self.fks: dict[str, dict[str, str]] = {}
        for c in COLLECTIONS:
            req = schema.request_schema(f"/api/{c}/", "post") or {}
            props = schema.component(req["$ref"].rsplit("/", 1)[1])["properties"] if req else {}
            fks = {}
            for name, prop in props.items():
                target = _ref_name(prop)
                if name == "tags":
                    continue
                if target in by_name:
                    fks[name] = by_name[target]
                elif name in _SELF_REF and c == "dcim/interfaces":
                    fks[name] = _SELF_REF[name]
            self.fks[c] = fks

    # --- state ----------------------------------------------------------------------------

    def dump(self) -> dict[str, dict[int, dict[str, Any]]]:
        return copy.deepcopy(self.objects)

    def find(self, collection: str, **match: Any) -> list[dict[str, Any]]:
        return [
            o
            for o in self.objects[collection].values()
            if all(o.get(k) == v for k, v in match.items())
        ]

    def put(self, collection: str, data: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        obj = {**data, "id": next(self._ids), "created": now, "last_updated": now}
        self.objects[collection][obj["id"]] = obj
        return obj

    # --- rendering ------------------------------------------------------------------------

    def url(self, collection: str, oid: int) -> str:
        return f"{self.base_url}/api/{collection}/{oid}/"

    def render(
        self, collection: str, obj: dict[str, Any], schema_name: str | None = None, depth: int = 0
    ) -> dict[str, Any]:
        name = schema_name or self.object_schema[collection]
        props = self.schema.component(name)["properties"]
        fks = self.fks[collection]
        out: dict[str, Any] = {}
        for key, prop in props.items():
            out[key] = self._value(collection, obj, key, prop, fks, depth)
        return out

    def brief(
        self, collection: str, oid: int | None, depth: int, schema_name: str | None = None
    ) -> dict[str, Any] | None:
        """The related object as the answer's schema names it (``Nested...`` where the
        schema says so, else ``Brief...``)."""
        if oid is None or oid not in self.objects[collection] or depth > 3:
            return None
        base = self.object_schema[collection].removesuffix("WithConfigContext")
        name = schema_name or f"Brief{base}"
        return self.render(collection, self.objects[collection][oid], name, depth + 1)

    def display(self, collection: str, obj: dict[str, Any]) -> str:
        if collection == "dcim/cables":
            return f"#{obj['id']}"
        for key in ("name", "model", "address", "mac_address"):
            if obj.get(key):
                return str(obj[key])
        return str(obj["id"])

    def _value(
        self,
        collection: str,
        obj: dict[str, Any],
        key: str,
        prop: dict[str, Any],
        fks: dict[str, str],
        depth: int,
    ) -> Any:
        special = {
            "url": lambda: self.url(collection, obj["id"]),
            "display_url": lambda: self.url(collection, obj["id"]).replace("/api/", "/"),
            "display": lambda: self.display(collection, obj),
        }
        if key in special:
            return special[key]()
        if key in fks:
            refs = [p.get("$ref", "") for p in prop.get("allOf", [])] + [prop.get("$ref", "")]
            nested = [r.rsplit("/", 1)[1] for r in refs if "/Nested" in r]
            return self.brief(fks[key], obj.get(key), depth, nested[0] if nested else None)
        if key == "tagged_vlans":
            vlans = self.objects["ipam/vlans"]
            return [
                self.render("ipam/vlans", vlans[v], depth=depth + 1)
                for v in obj.get(key, [])
                if v in vlans
            ]
        if key == "tags":
            tags = [
                t for t in self.objects["extras/tags"].values() if t["slug"] in obj.get(key, [])
            ]
            return [self.render("extras/tags", t, "NestedTag", depth + 1) for t in tags]
        if key in ("assigned_object", "object") or key.endswith("_terminations"):
            return self._generic(collection, obj, key, depth)
        if key == "cable" and collection == "dcim/interfaces":
            for cable in self.objects["dcim/cables"].values():
                ends = cable.get("a_terminations", []) + cable.get("b_terminations", [])
                if any(t["object_id"] == obj["id"] for t in ends):
                    return self.brief("dcim/cables", cable["id"], depth)
            return None
        if key == "primary_ip":
            return self.brief(
                "ipam/ip-addresses", obj.get("primary_ip4") or obj.get("primary_ip6"), depth
            )
        if key == "mac_address" and collection == "dcim/interfaces":
            mac = self.objects["dcim/mac-addresses"].get(obj.get("primary_mac_address") or -1)
            return mac["mac_address"] if mac else None
        if key == "family":
            version = 6 if ":" in obj.get("address", "") else 4
            return {"value": version, "label": f"IPv{version}"}
        value = obj.get(key)
        if prop.get("type") == "object" and "value" in prop.get("properties", {}):
            if value is None:
                return None
            return {"value": value, "label": choice_labels(prop).get(value, str(value))}
        if value is not None or key in obj:
            return value
        return self._default(prop)

    def _generic(self, collection: str, obj: dict[str, Any], key: str, depth: int) -> Any:
        if key.endswith("_terminations"):
            return [
                {
                    "object_type": t["object_type"],
                    "object_id": t["object_id"],
                    "object": self.brief(_GENERIC[t["object_type"]], t["object_id"], depth),
                }
                for t in obj.get(key, [])
            ]
        kind = obj.get("assigned_object_type")
        if kind not in _GENERIC:
            return None
        return self.brief(_GENERIC[kind], obj.get("assigned_object_id"), depth)

    @staticmethod
    def _default(prop: dict[str, Any]) -> Any:
        if prop.get("nullable") or "allOf" in prop or "$ref" in prop or "type" not in prop:
            return None
        return {
            "string": "",
            "integer": 0,
            "number": 0,
            "boolean": False,
            "array": [],
            "object": {},
        }.get(prop["type"])
