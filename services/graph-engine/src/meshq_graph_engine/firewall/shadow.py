"""Unreachable filter lines: lines no packet can reach, and the smallest set of earlier lines
that blocks each one.

A line's match space is a union of boxes over seven dimensions (source zone, destination
zone, source addresses, destination addresses, protocol, source ports, destination ports),
one box per service and address family (a packet's source and destination are of one family,
so an IPv4 source never pairs with an IPv6 destination). A line is unreachable when:

- its own match space is empty: ``empty`` when one of its fields names nothing at all (no
  address, no service, no zone: a group that resolved to nothing), ``independently_unmatchable``
  when every field names something but no packet has them all (IPv4-only sources with IPv6-only
  destinations, ports on a protocol that has none);
- or the earlier enabled lines, together, cover all of it (``blocking_lines``).

For a blocked line the answer is a small set of earlier lines whose union covers it:

1. one earlier line that covers it alone, when there is one (the first such line);
2. otherwise a greedy cover (repeatedly the earlier line that covers the most of what is
   still uncovered, by volume), then every member whose removal leaves the line still
   covered is dropped.

What this guarantees: the set covers the line, and it is irredundant (dropping any one member
leaves part of the line uncovered). It is a minimum (the fewest lines possible) when a single
line suffices; with two or more, greedy set cover is a heuristic and a smaller set may exist.
A line whose uncovered remainder splits into more than ``MAX_PIECES`` boxes is left undecided
(reported reachable).

Services that match only part of their box (an ICMP type, established TCP) are never counted
as covering another line, so a line is never reported blocked when it is not. Candidate
earlier lines come from bounding-box tests done on bitsets (one big integer per prefix of the
lines sorted by each bound): lines that overlap a line at all, and lines whose bounding box
contains it (the only ones that can cover it alone), so a 5,000-line set needs no millions of
pairwise tests.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from meshq_graph_engine.firewall._intervals import (
    ANY_V4,
    ANY_V6,
    Ranges,
    covers,
    intersect,
    merge,
    subtract,
)
from meshq_graph_engine.firewall.policy import ANY_PORT, PORTED, Rule, RuleSet

__all__ = ["MAX_PIECES", "Reason", "Shadowed", "Unreachable", "shadowed_rules", "unreachable_lines"]

Box = tuple[Ranges, ...]
Bound = tuple[tuple[int, int], ...]
DIMS = 7
#: A line whose uncovered remainder splits into more pieces than this is left undecided
#: (reported reachable); real rule sets stay far below it.
MAX_PIECES = 2048

Reason = Literal["blocking_lines", "empty", "independently_unmatchable"]
_PORTED: Ranges = tuple((p, p) for p in sorted(PORTED))


@dataclass(frozen=True)
class Unreachable:
    """A line no packet reaches, why, and (``blocking_lines``) the earlier lines that block it."""

    rule: Rule
    blocking: tuple[Rule, ...]
    reason: Reason

    @property
    def different_action(self) -> bool:
        """Whether a blocking line does otherwise: permits where this one denies (or the
        reverse), or, in a nat chain, applies another translation."""
        rule = self.rule
        return any(b.allows != rule.allows or b.nat != rule.nat for b in self.blocking)


@dataclass(frozen=True)
class Shadowed:
    rule: Rule
    covering: tuple[Rule, ...]

    @property
    def kind(self) -> str:
        """``redundant`` when every covering rule has the same action (and translation, in
        a nat chain), else ``conflict``."""
        same = all(c.allows == self.rule.allows and c.nat == self.rule.nat for c in self.covering)
        return "redundant" if same else "conflict"


def _zone_ranges(names: frozenset[str] | None, index: dict[str, int]) -> Ranges:
    if names is None:
        return ((0, len(index)),)  # every named zone plus "no zone" (the last index)
    return merge((index[n], index[n]) for n in names)


def _boxes(rule: Rule, index: dict[str, int], *, covering: bool) -> list[Box]:
    """The rule's match space; as a covering rule, without the services that match only
    part of their box (an ICMP type, established TCP), so coverage is never over-stated."""
    sz, dz = _zone_ranges(rule.src_zones, index), _zone_ranges(rule.dst_zones, index)
    if not sz or not dz:
        return []
    pairs = []
    for family in (ANY_V4, ANY_V6):
        src, dst = intersect(rule.src, family), intersect(rule.dst, family)
        if src and dst:
            pairs.append((src, dst))
    out: list[Box] = []
    for service in rule.services:
        if (covering and service.narrowed) or service.unmatchable:
            continue
        protos = service.protocols
        parts: list[tuple[Ranges, Ranges, Ranges]] = []
        ported = intersect(protos, _PORTED)
        if (service.src_ports, service.dst_ports) != (ANY_PORT, ANY_PORT) and ported != protos:
            # ports bind only ported protocols: split the rest off with every port
            rest = subtract(protos, ported)
            if rest:
                parts.append((rest, ANY_PORT, ANY_PORT))
            protos = ported
        if protos:
            parts.append((protos, service.src_ports, service.dst_ports))
        for src, dst in pairs:
            out.extend((sz, dz, src, dst, p, sp, dp) for p, sp, dp in parts)
    return out


def _reason(rule: Rule) -> Reason:
    """Why a line with no match space matches nothing."""
    nothing = not rule.src or not rule.dst or not rule.services
    if nothing or rule.src_zones == frozenset() or rule.dst_zones == frozenset():
        return "empty"
    return "independently_unmatchable"


def _minus(a: Box, b: Box) -> list[Box] | None:
    """``a`` without ``b`` as disjoint boxes; None when they do not meet."""
    inter = []
    for d in range(DIMS):
        x = intersect(a[d], b[d])
        if not x:
            return None
        inter.append(x)
    out: list[Box] = []
    prefix = list(a)
    for d in range(DIMS):
        rest = subtract(a[d], b[d])
        if rest:
            piece = prefix.copy()
            piece[d] = rest
            out.append(tuple(piece))
        prefix[d] = inter[d]
    return out


def _rest(left: list[Box], theirs: Sequence[Box]) -> list[Box] | None:
    """What of ``left`` the boxes ``theirs`` leave; None past ``MAX_PIECES``."""
    for b in theirs:
        nxt: list[Box] = []
        for piece in left:
            rest = _minus(piece, b)
            nxt.extend([piece] if rest is None else rest)
        left = nxt
        if not left:
            return left
        if len(left) > MAX_PIECES:
            return None
    return left


def _volume(boxes: list[Box]) -> int:
    total = 0
    for box in boxes:
        size = 1
        for ranges in box:
            size *= sum(hi - lo + 1 for lo, hi in ranges)
        total += size
    return total


class _Overlap:
    """Which earlier rules' bounding boxes meet (or contain) a given box: bitset prefix
    tables."""

    def __init__(self, bounds: Sequence[Bound]) -> None:
        self.dims = []
        for d in range(DIMS):
            by_lo = sorted(range(len(bounds)), key=lambda i: bounds[i][d][0])
            by_hi = sorted(range(len(bounds)), key=lambda i: -bounds[i][d][1])
            los = [bounds[i][d][0] for i in by_lo]
            his = [-bounds[i][d][1] for i in by_hi]
            self.dims.append((los, _prefixes(by_lo), his, _prefixes(by_hi)))

    def meeting(self, bound: Bound) -> int:
        found = -1
        for d, (los, lo_sets, his, hi_sets) in enumerate(self.dims):
            lo, hi = bound[d]
            found &= lo_sets[bisect_right(los, hi)]  # rules with lo <= hi
            found &= hi_sets[bisect_right(his, -lo)]  # rules with hi >= lo
            if not found:
                break
        return found

    def containing(self, bound: Bound) -> int:
        found = -1
        for d, (los, lo_sets, his, hi_sets) in enumerate(self.dims):
            lo, hi = bound[d]
            found &= lo_sets[bisect_right(los, lo)]  # rules with lo <= our lo
            found &= hi_sets[bisect_right(his, -hi)]  # rules with hi >= our hi
            if not found:
                break
        return found


#: The bound of a rule that covers nothing: meets and contains no box.
_NOWHERE: Bound = tuple((-2, -2) for _ in range(DIMS))


def _prefixes(order: list[int]) -> list[int]:
    out, bits = [0], 0
    for i in order:
        bits |= 1 << i
        out.append(bits)
    return out


def _bits(mask: int) -> list[int]:
    """The set bits of ``mask``, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _bound(boxes: list[Box]) -> Bound:
    return tuple(
        (min(b[d][0][0] for b in boxes), max(b[d][-1][1] for b in boxes)) for d in range(DIMS)
    )


def _projections_cover(boxes: list[Box], earlier: list[list[Box]]) -> bool:
    """Necessary condition: in every dimension the earlier rules reach all of the rule."""
    for d in range(DIMS):
        reach = merge(r for bs in earlier for b in bs for r in b[d])
        need = merge(r for b in boxes for r in b[d])
        if not covers(reach, need):
            return False
    return True


def unreachable_lines(rule_set: RuleSet) -> list[Unreachable]:
    """Every enabled line of the set that no packet can reach, in order, with the reason and
    (when earlier lines block it) a small set of earlier lines that together cover it."""
    rules = rule_set.active
    names = sorted(
        {z for r in rules for z in (r.src_zones or frozenset()) | (r.dst_zones or frozenset())}
    )
    index = {n: i for i, n in enumerate(names)}
    boxes = [_boxes(r, index, covering=False) for r in rules]
    cover = [_boxes(r, index, covering=True) for r in rules]
    overlap = _Overlap([_bound(b) if b else _NOWHERE for b in cover])
    out: list[Unreachable] = []
    for i, rule in enumerate(rules):
        if not boxes[i]:
            out.append(Unreachable(rule, (), _reason(rule)))
            continue
        bound, earlier = _bound(boxes[i]), (1 << i) - 1
        candidates = _bits(overlap.meeting(bound) & earlier)
        if not candidates or not _projections_cover(boxes[i], [cover[j] for j in candidates]):
            continue
        whole = _bits(overlap.containing(bound) & earlier)
        blocking = _blocking(boxes[i], candidates, whole, cover)
        if blocking is not None:
            out.append(Unreachable(rule, tuple(rules[j] for j in blocking), "blocking_lines"))
    return out


def shadowed_rules(rule_set: RuleSet) -> list[Shadowed]:
    """Every enabled rule that earlier rules block, with the smallest blocking set found
    (see :func:`unreachable_lines`); rules that match nothing by themselves are not here."""
    return [
        Shadowed(u.rule, u.blocking)
        for u in unreachable_lines(rule_set)
        if u.reason == "blocking_lines"
    ]


def _blocking(
    left: list[Box], candidates: list[int], whole: list[int], cover: list[list[Box]]
) -> list[int] | None:
    """A small set of ``candidates`` whose boxes cover ``left``; None if they do not."""
    for j in whole:  # a line that covers it alone is the smallest answer
        if _rest(left, cover[j]) == []:
            return [j]
    used = _sequential(left, candidates, cover)
    if used is None:
        return None
    chosen = _greedy(left, candidates, cover) or used
    return _prune(left, chosen, cover)


def _sequential(left: list[Box], earlier: list[int], cover: list[list[Box]]) -> list[int] | None:
    """The earlier rules that take a part of ``left`` in order, if together they take all."""
    used: list[int] = []
    for j in earlier:
        rest = _rest(left, cover[j])
        if rest is None:
            return None
        if rest != left:
            used.append(j)
        left = rest
        if not left:
            return used
    return None


def _greedy(left: list[Box], candidates: list[int], cover: list[list[Box]]) -> list[int] | None:
    """Greedy set cover by volume, lazily re-evaluated (what a line covers of the remainder
    only shrinks as the remainder does); ties go to the earlier line. None past the limit."""
    size = _volume(left)
    heap: list[tuple[int, int]] = []
    for j in candidates:
        rest = _rest(left, cover[j])
        if rest is None:
            return None
        gain = size - _volume(rest)
        if gain:
            heap.append((-gain, j))
    heapq.heapify(heap)
    chosen: list[int] = []
    while left:
        if not heap:
            return None
        _, j = heapq.heappop(heap)
        rest = _rest(left, cover[j])
        if rest is None:
            return None
        gain = _volume(left) - _volume(rest)
        if not gain:
            continue
        if heap and gain < -heap[0][0]:
            heapq.heappush(heap, (-gain, j))
            continue
        chosen.append(j)
        left = rest
    return chosen


def _prune(left: list[Box], chosen: list[int], cover: list[list[Box]]) -> list[int]:
    """``chosen`` without every member the others cover for (latest picked tried first)."""
    kept = list(chosen)
    for j in reversed(chosen):
        others = [k for k in kept if k != j]
        if others and _rest(left, [b for k in others for b in cover[k]]) == []:
            kept = others
    return sorted(kept)
