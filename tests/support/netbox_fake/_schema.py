"""NetBox's own OpenAPI schema (the subset in tests/data/netbox), as JSON Schema validators.

OpenAPI 3.0 schemas are JSON Schema draft 4 plus ``nullable``; ``nullable: true`` becomes an
``anyOf`` with ``null`` so that draft-4 validation reads them as NetBox means them. Choice fields
(``{value, label}`` objects) are nullable too: NetBox renders an unset choice (a device's
``airflow``) as ``null``, which its generated schema does not say; an optional string with a
pattern (a cable's ``color``) may be blank, as NetBox renders it when unset.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import best_match

__all__ = ["Schema", "load_schema"]

SUBSET = Path(__file__).resolve().parents[2] / "data" / "netbox" / "netbox-4.2.9-subset.json.gz"
_REF = "#/components/schemas/"


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    choice = out.get("type") == "object" and set(out.get("properties", {})) == {"value", "label"}
    if out.get("type") == "string" and "pattern" in out and not out.get("minLength"):
        out = {"anyOf": [out, {"enum": [""]}]}  # an unset colour is rendered blank
    if out.pop("nullable", False) or choice:
        return {"anyOf": [out, {"type": "null"}]}
    return out


class Schema:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.components = _nullable(doc["components"]["schemas"])
        self.raw = doc["components"]["schemas"]

    def operation(self, path: str, method: str) -> dict[str, Any] | None:
        item = self.doc["paths"].get(path)
        return None if item is None else item.get(method.lower())

    def param_names(self, path: str, method: str) -> set[str]:
        op = self.operation(path, method) or {}
        return {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}

    def request_schema(self, path: str, method: str) -> dict[str, Any] | None:
        op = self.operation(path, method) or {}
        content = op.get("requestBody", {}).get("content", {})
        return content.get("application/json", {}).get("schema")

    def response_schema(self, path: str, method: str, status: int) -> dict[str, Any] | None:
        op = self.operation(path, method) or {}
        answer = op.get("responses", {}).get(str(status), {})
        return answer.get("content", {}).get("application/json", {}).get("schema")

    def object_schema(self, path: str) -> str:
        """The component a collection's GET returns items of (``Site`` for /api/dcim/sites/)."""
        page = self.response_schema(path, "get", 200)
        assert page is not None, path
        listing = self.raw[page["$ref"].removeprefix(_REF)]
        return str(listing["properties"]["results"]["items"]["$ref"].removeprefix(_REF))

    def errors(
        self, schema: dict[str, Any], instance: Any
    ) -> list[tuple[list[Any], str, str, Any]]:
        """(path, keyword, message, the keyword's value) of every violation; for a failed
        ``anyOf`` (a nullable field), the most telling error inside it."""
        validator = Draft4Validator(
            {**_nullable(schema), "components": {"schemas": self.components}}
        )
        out = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.path)):
            if error.context:
                inner = [e for e in error.context if e.validator != "type"] or error.context
                error = best_match(inner) or error
            out.append(
                (
                    list(error.absolute_path),
                    str(error.validator),
                    error.message,
                    error.validator_value,
                )
            )
        return out

    def component(self, name: str) -> dict[str, Any]:
        return dict(self.raw[name])

    @staticmethod
    def ref(name: str) -> dict[str, str]:
        return {"$ref": _REF + name}


def choice_labels(prop: dict[str, Any]) -> dict[Any, str]:
    """``* `active` - Active`` lines of a choice field's description, as value -> label."""
    value = prop.get("properties", {}).get("value", {})
    text = value.get("description", "")
    return {m[0]: m[1] for m in re.findall(r"\* `([^`]*)` - (.+)", text)}


@cache
def load_schema() -> Schema:
    return Schema(json.loads(gzip.decompress(SUBSET.read_bytes())))
