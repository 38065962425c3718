"""Bookkeeping of bulk writes: what each object sent came to (:class:`WriteResult`), how many
objects a request carries (:class:`Sizer`), and NetBox's per-object 400 answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from network_discovery.integrations.netbox._errors import FieldError

__all__ = [
    "BULK_CHUNK",
    "Batch",
    "Label",
    "Sizer",
    "WriteResult",
    "default_label",
    "labeller",
    "refused_items",
]

BULK_CHUNK = 100
Label = Callable[[Mapping[str, Any]], str]
#: objects of a bulk write, each with its position in the items given
Batch = list[tuple[int, dict[str, Any]]]


def default_label(item: Mapping[str, Any]) -> str:
    for key in ("name", "model", "address", "mac_address", "slug", "id"):
        if item.get(key) not in (None, ""):
            return str(item[key])
    return "(object)"


class WriteResult:
    """What one bulk write did, per object sent (by its position in ``items``): the object
    NetBox holds for it, or why NetBox refused it. ``recovered`` counts objects a read-back
    found applied after an answer that did not say; ``unanswered`` counts those answers."""

    def __init__(self) -> None:
        self.objects: dict[int, dict[str, Any]] = {}
        self.refused: dict[int, list[FieldError]] = {}
        self.recovered = 0
        self.unanswered = 0

    @property
    def done(self) -> list[dict[str, Any]]:
        """The objects NetBox accepted (or was found to hold), in the order they were given."""
        return [self.objects[i] for i in sorted(self.objects)]

    @property
    def errors(self) -> list[FieldError]:
        return [e for i in sorted(self.refused) for e in self.refused[i]]


class Sizer:
    """How many objects one bulk write carries: as many as NetBox handles in ``share`` of the
    timeout at the pace it has shown for that endpoint and method (before it has shown one,
    ``prior`` seconds an object), at most ``most``. A write that timed out halves it."""

    def __init__(
        self, timeout: float, *, most: int = BULK_CHUNK, share: float = 0.5, prior: float = 0.1
    ) -> None:
        self.budget = timeout * share
        self.timeout = timeout
        self.most = most
        self.prior = prior
        self.pace: dict[str, float] = {}  # seconds an object, by "METHOD endpoint"

    def size(self, key: str) -> int:
        pace = self.pace.get(key, self.prior)
        return max(1, min(self.most, int(self.budget / pace) if pace > 0 else self.most))

    def observe(self, key: str, objects: int, seconds: float) -> None:
        measured = seconds / max(1, objects)
        before = self.pace.get(key)
        # slow down at once, speed up gently
        self.pace[key] = measured if before is None else max(measured, (before + measured) / 2)

    def timed_out(self, key: str, objects: int) -> None:
        self.pace[key] = max(self.pace.get(key, self.prior), self.timeout / max(1, objects))


def labeller(
    items: Sequence[Mapping[str, Any]], label: Label, labels: Sequence[str] | None = None
) -> Callable[[int], str]:
    if labels is not None:
        if len(labels) != len(items):
            raise ValueError("one label per item")
        return lambda i: labels[i]
    return lambda i: label(items[i])


def refused_items(
    response: httpx.Response,
    endpoint: str,
    sent: Batch,
    label: Callable[[int], str],
) -> dict[int, list[FieldError]]:
    """The items NetBox refused (by position in ``sent``), with their field errors
    (``[{}, {"name": [...]}]``)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    if isinstance(body, dict) and len(sent) == 1:
        body = [body]
    if not isinstance(body, list) or len(body) != len(sent):
        return {}
    out: dict[int, list[FieldError]] = {}
    for position, ((index, _), errors) in enumerate(zip(sent, body, strict=True)):
        if not errors:
            continue
        if not isinstance(errors, dict):
            errors = {"__all__": errors}
        out[position] = [
            FieldError(
                endpoint.strip("/"),
                label(index),
                str(name),
                tuple(str(m) for m in (msgs if isinstance(msgs, list) else [msgs])),
            )
            for name, msgs in errors.items()
        ]
    return out
