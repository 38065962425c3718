"""What every structured-output mapping shares: the error, and walking NX-API's ``TABLE_``/``ROW_``
documents and Junos' ``[{"data": ...}]`` leaves."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "JsonOutputError",
    "Row",
    "dig",
    "junos_leaf",
    "junos_list",
    "load_document",
    "nxapi_rows",
]

Row = dict[str, Any]


class JsonOutputError(ValueError):
    """Output that is not the JSON document the command prints."""


def dig(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            raise JsonOutputError(f"expected key {'.'.join(keys)!r}")
        doc = doc[key]
    return doc


def nxapi_rows(doc: Any, table: str, row: str) -> list[dict[str, Any]]:
    """NX-API's TABLE_x/ROW_x: ROW_x is an object when there is one row, a list otherwise."""
    found = dig(doc, table, row)
    return [found] if isinstance(found, dict) else list(found)


def junos_leaf(entry: dict[str, Any], key: str) -> Any:
    """A Junos JSON leaf: ``"key": [{"data": value}]``."""
    leaf = entry.get(key)
    if isinstance(leaf, list) and leaf and isinstance(leaf[0], dict):
        return leaf[0].get("data")
    return None


def junos_list(doc: Any, outer: str, inner: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for block in dig(doc, outer):
        found.extend(block.get(inner) or [])
    return found


#: What Junos prints after a command's output on a chassis cluster or virtual chassis
#: (``{master:0}``, ``{primary:node0}``): not part of the JSON document.
_JUNOS_BANNER = re.compile(r"\n\s*\{(?:master|backup|primary|secondary|linecard)(?::[\w-]+)?\}\s*$")


def load_document(text: str) -> Any:
    """The JSON document a command printed, without a Junos ``{master:0}`` banner after it;
    :class:`ValueError` when it is not JSON."""
    return json.loads(_JUNOS_BANNER.sub("", text.strip()))
