"""What an audit event carries of a call, bounded: shared by the gateway (every API call) and
the graph engine (every internal write).

An event stays far below the broker's message limit whatever a caller sends: a value longer than
:data:`MAX_VALUE_CHARS` is cut (its size and hash recorded); more than :data:`MAX_ITEMS` keys or
items are cut; a part larger than :data:`MAX_PART_BYTES` is replaced by its size and hash. The
value of every secret-looking parameter name is replaced by ``[redacted]``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_PART_BYTES",
    "MAX_VALUE_CHARS",
    "bounded",
    "bounded_part",
    "redact",
]

#: Parameter names whose values never reach the audit log.
_SECRET_WORDS = ("password", "secret", "token", "key", "credential", "community_string")

MAX_VALUE_CHARS = 256
MAX_ITEMS = 50
MAX_DEPTH = 4
MAX_PART_BYTES = 16_384


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def bounded(value: Any, depth: int = 0) -> Any:
    """``value`` cut to what an audit event carries: long strings keep their start, their
    length and their SHA-256; deep or long structures are cut with a note of what was left."""
    if isinstance(value, str):
        if len(value) <= MAX_VALUE_CHARS:
            return value
        return f"{value[:64]}... [{len(value)} chars, sha256 {_digest(value)}]"
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth >= MAX_DEPTH:
        return f"[nested deeper than {MAX_DEPTH}]"
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k)[:MAX_VALUE_CHARS]: bounded(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["_cut"] = f"{len(items) - MAX_ITEMS} more keys"
        return out
    if isinstance(value, list | tuple):
        cut = [bounded(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            cut.append(f"[{len(value) - MAX_ITEMS} more items]")
        return cut
    return bounded(str(value), depth)


def bounded_part(value: dict[str, Any]) -> dict[str, Any]:
    """A whole part (parameters, one sample row) within :data:`MAX_PART_BYTES`, else its
    size and hash in its place."""
    if _small_and_flat(value):  # most sample rows: nothing to cut, nothing to measure
        return dict(value)
    cut = bounded(value)
    text = json.dumps(cut, default=str, ensure_ascii=False)
    if len(text.encode()) <= MAX_PART_BYTES:
        return cut if isinstance(cut, dict) else {}
    raw = json.dumps(value, default=str, ensure_ascii=False)
    return {"_omitted": {"bytes": len(raw.encode()), "sha256": _digest(raw)}}


#: What one key and value of a flat part take in JSON besides the key's characters and a
#: string value's: quotes, colon, comma, and a number's, a boolean's or null's digits.
_ENTRY_BYTES = 32
#: A JSON string takes at most this many bytes per ASCII character (``\u001f``).
_ASCII_CHAR_BYTES = 6


def _small_and_flat(value: Any) -> bool:
    """Whether :func:`bounded` leaves ``value`` as it is and its JSON is surely within
    :data:`MAX_PART_BYTES`: a dict of at most :data:`MAX_ITEMS` ASCII keys whose values are
    short ASCII strings, booleans, None, floats or integers of at most 18 digits. Counted
    from lengths, without encoding it; anything else takes the measured path."""
    if type(value) is not dict or len(value) > MAX_ITEMS:
        return False
    chars = 0
    for key, item in value.items():
        if type(key) is not str or len(key) > MAX_VALUE_CHARS or not key.isascii():
            return False
        chars += len(key)
        kind = type(item)
        if kind is str:
            if len(item) > MAX_VALUE_CHARS or not item.isascii():
                return False
            chars += len(item)
        elif kind is int:
            if not -(10**18) < item < 10**18:
                return False
        elif item is not None and kind is not bool and kind is not float:
            return False
    return 2 + chars * _ASCII_CHAR_BYTES + len(value) * _ENTRY_BYTES <= MAX_PART_BYTES


def redact(params: Any) -> dict[str, Any]:
    """Parameters with the value of every secret-looking name replaced by ``[redacted]``."""
    if not isinstance(params, dict):
        return {}
    out: dict[str, Any] = {}
    for name, value in params.items():
        lowered = str(name).lower()
        if any(word in lowered for word in _SECRET_WORDS):
            out[str(name)] = "[redacted]"
        elif isinstance(value, dict):
            out[str(name)] = redact(value)
        else:
            out[str(name)] = value
    return out
