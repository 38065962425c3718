"""The one reading of a validation failure for an answer: ``{"field", "message"}`` per fault.

The field is the dotted location (``devices.3.hostname``; ``root`` for the whole body); the
message says what was expected and, for a value of the wrong kind, what kind came, never the
value itself (a caller's input is neither echoed nor logged). At most ``limit`` faults.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = ["field_errors"]

#: What a value of each failing type should have been.
_EXPECTED = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false (a JSON boolean)",
    "bool_parsing": "expected true or false (a JSON boolean)",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _message(error: ErrorDetails, allowed: list[str] | None) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        if len(error["loc"]) > 1 or allowed is None:
            return "unknown field"
        return "unknown parameter; " + (
            f"accepted: {', '.join(allowed)}" if allowed else "this takes no parameters"
        )
    expected = _EXPECTED.get(kind)
    if expected:
        return f"{expected}, got {_json_type(error.get('input'))}"
    return str(error["msg"])[:300]


def field_errors(
    exc: ValidationError,
    *,
    allowed: list[str] | None = None,
    root: str = "(body)",
    limit: int = 50,
) -> list[dict[str, Any]]:
    """One ``{"field", "message"}`` per failure (at most ``limit``). ``allowed``: the names a
    top-level object accepts, named when an unknown one is sent."""
    return [
        {
            "field": ".".join(str(p) for p in e["loc"])[:200] or root,
            "message": _message(e, allowed),
        }
        for e in exc.errors(include_url=False)[:limit]
    ]
