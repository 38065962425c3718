"""Which rules of a rule set can match a destination address, in rule order.

First match must look at rules in order, but most rules of a large rule set name a few
destination networks: a flow can only match those whose destinations contain its own. The
destination line is cut at every range boundary of the narrow rules; each piece keeps the
rules covering it. Wide rules (a /12 or more in IPv4, a /48 or more in IPv6, "any") are
candidates for every flow. Lists are merged in rule order, so the first candidate that
matches is the first rule that matches.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from meshq_graph_engine.firewall._intervals import V6_BASE, Ranges

__all__ = ["DestinationIndex"]

_WIDE_V4 = 1 << 20
_WIDE_V6 = 1 << 80


class _HasDst(Protocol):
    @property
    def dst(self) -> Ranges: ...


def _wide(ranges: Ranges) -> bool:
    return any(hi - lo + 1 >= (_WIDE_V6 if lo >= V6_BASE else _WIDE_V4) for lo, hi in ranges)


class DestinationIndex:
    """Built once per rule set; None from :meth:`build` when it would not pay."""

    def __init__(self, always: list[int], bounds: list[int], pieces: list[list[int]]) -> None:
        self.always, self.bounds, self.pieces = always, bounds, pieces

    @classmethod
    def build(cls, rules: Sequence[_HasDst], budget: int = 64) -> DestinationIndex | None:
        """The index, unless the pieces would hold more than ``budget`` entries per rule
        (deeply nested destinations), where a plain scan is as good."""
        always: list[int] = []
        starts: dict[int, list[int]] = defaultdict(list)
        ends: dict[int, list[int]] = defaultdict(list)
        for i, rule in enumerate(rules):
            if _wide(rule.dst):
                always.append(i)
                continue
            for lo, hi in rule.dst:
                starts[lo].append(i)
                ends[hi + 1].append(i)
        bounds = sorted(set(starts) | set(ends))
        current: set[int] = set()
        pieces: list[list[int]] = []
        held, limit = 0, budget * max(1, len(rules))
        for b in bounds:
            current.difference_update(ends.get(b, ()))
            current.update(starts.get(b, ()))
            held += len(current)
            if held > limit:
                return None
            pieces.append(sorted(current))
        return cls(always, bounds, pieces)

    def candidates(self, dst: int) -> Iterable[int]:
        k = bisect_right(self.bounds, dst) - 1
        if k < 0 or not self.pieces[k]:
            return self.always
        if not self.always:
            return self.pieces[k]
        return heapq.merge(self.always, self.pieces[k])
