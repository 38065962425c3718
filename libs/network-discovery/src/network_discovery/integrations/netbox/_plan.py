"""A sync plan: every change a run would make, in the order it makes them.

A dry run prints the plan; a real run executes that same plan object, so what a dry run shows
is exactly what a real run does. References between objects created in the same run (a new
device's interfaces) are :class:`Ref` placeholders, resolved to NetBox ids as objects are made.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Conflict", "Drift", "Item", "Plan", "Ref", "Step", "slugify"]

Action = Literal["create", "update", "unassign", "delete", "stamp", "declare"]


@dataclass(frozen=True)
class Ref:
    """The NetBox id of the object planned (or found) under ``key``."""

    key: str


@dataclass
class Item:
    key: str
    label: str
    body: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (old, new)
    id: int | None = None
    #: deletes only: the stage of its step it goes in (NetBox refuses to delete a parent
    #: interface before its sub-interfaces, so those go first, in a request of their own)
    stage: int = 0


@dataclass
class Step:
    kind: str  # what the summary calls it: device, interface, ip address, ...
    action: Action
    endpoint: str  # NetBox endpoint (push) or the graph (pull)
    items: list[Item] = field(default_factory=list)


@dataclass(frozen=True)
class Conflict:
    kind: str
    label: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.label}: {self.reason}"


@dataclass(frozen=True)
class Drift:
    """A field of an object the sync did not create where NetBox and discovery disagree.
    ``overwritten``: the run replaces NetBox's value (``--overwrite FIELD``); else NetBox's
    value stays."""

    kind: str
    label: str
    field: str
    netbox: Any
    discovered: Any
    overwritten: bool = False
    #: the fields ``--overwrite`` must name to replace it (default: ``field``)
    needs: tuple[str, ...] = ()

    def __str__(self) -> str:
        needs = " ".join(f"--overwrite {f}" for f in self.needs or (self.field,))
        outcome = (
            "overwritten (--overwrite)"
            if self.overwritten
            else f"NetBox's kept ({needs} replaces it)"
        )
        return (
            f"{self.kind} {self.label}: {self.field}: NetBox has {self.netbox!r}, "
            f"discovery {self.discovered!r}; {outcome}"
        )


@dataclass
class Plan:
    direction: Literal["push", "pull"]
    steps: list[Step] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    #: push only: disagreements on objects the sync did not create
    drift: list[Drift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: key -> NetBox id of objects that exist already (push)
    known: dict[str, int] = field(default_factory=dict)
    #: pull only: what to publish (metadata patches, the declared-links snapshot)
    payload: dict[str, Any] = field(default_factory=dict)
    #: push only: the slug of the tag on everything the push creates (what a read-back asks for)
    tag: str = ""

    def step(self, kind: str, action: Action, endpoint: str) -> Step:
        for existing in self.steps:
            if (existing.kind, existing.action, existing.endpoint) == (kind, action, endpoint):
                return existing
        new = Step(kind, action, endpoint)
        self.steps.append(new)
        return new

    @property
    def empty(self) -> bool:
        return not any(s.items for s in self.steps)

    def summary(self) -> list[tuple[str, str, str, int]]:
        """(direction, object kind, action, count) per non-empty step, in plan order."""
        counts: Counter[tuple[str, str]] = Counter()
        for s in self.steps:
            counts[(s.kind, s.action)] += len(s.items)
        return [(self.direction, k, a, n) for (k, a), n in counts.items() if n]

    def lines(self) -> list[str]:
        """One line per change: what and, for updates, from what to what."""
        out = []
        for s in self.steps:
            for item in s.items:
                detail = ", ".join(
                    f"{f}: {old!r} -> {new!r}" for f, (old, new) in item.changes.items()
                )
                out.append(
                    f"{self.direction} {s.action} {s.kind} {item.label}"
                    + (f" ({detail})" if detail else "")
                )
        return out


def slugify(text: str) -> str:
    """A NetBox slug (``^[-a-zA-Z0-9_]+$``, at most 100 characters) for a name."""
    out = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in text.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")[:100] or "unnamed"
