"""Shadowed rules: rules that can never match because earlier rules, together, cover them.

A rule's match space is a union of boxes over seven dimensions (source zone, destination
zone, source addresses, destination addresses, protocol, source ports, destination ports),
one box per service. Walking the earlier rules in order, each one's boxes are subtracted
from what is left of the rule; a rule with nothing left is shadowed, and the earlier rules
that took a part of it are the ones that cover it. Coverage by several rules together is
found, not only by one broader rule.

Candidate earlier rules come from bounding-box overlap tests done on bitsets (one big
integer per prefix of rules sorted by each bound), so a 5,000-rule set does not need
millions of pairwise tests.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from meshq_graph_engine.firewall._intervals import Ranges, covers, intersect, merge, subtract
from meshq_graph_engine.firewall.policy import ANY_PORT, PORTED, Rule, RuleSet

__all__ = ["MAX_PIECES", "Shadowed", "shadowed_rules"]

Box = tuple[Ranges, ...]
DIMS = 7
#: A rule whose uncovered remainder splits into more pieces than this is left undecided
#: (reported as not shadowed); real rule sets stay far below it.
MAX_PIECES = 2048


@dataclass(frozen=True)
class Shadowed:
    rule: Rule
    covering: tuple[Rule, ...]

    @property
    def kind(self) -> str:
        """``redundant`` when every covering rule has the same action, else ``conflict``."""
        same = all(c.allows == self.rule.allows for c in self.covering)
        return "redundant" if same else "conflict"


def _zone_ranges(names: frozenset[str] | None, index: dict[str, int]) -> Ranges:
    if names is None:
        return ((0, len(index)),)  # every named zone plus "no zone" (the last index)
    return merge((index[n], index[n]) for n in names)


def _boxes(rule: Rule, index: dict[str, int], *, covering: bool) -> list[Box]:
    """The rule's match space; as a covering rule, without the services that match only
    part of their box (an ICMP type, established TCP), so coverage is never over-stated."""
    sz, dz = _zone_ranges(rule.src_zones, index), _zone_ranges(rule.dst_zones, index)
    out: list[Box] = []
    for service in rule.services:
        if covering and service.narrowed:
            continue
        protos = service.protocols
        ported = intersect(protos, tuple((p, p) for p in sorted(PORTED)))
        if (service.src_ports, service.dst_ports) != (ANY_PORT, ANY_PORT) and ported != protos:
            # ports bind only ported protocols: split the rest off with every port
            rest = subtract(protos, ported)
            if rest:
                out.append((sz, dz, rule.src, rule.dst, rest, ANY_PORT, ANY_PORT))
            protos = ported
        if protos:
            out.append((sz, dz, rule.src, rule.dst, protos, service.src_ports, service.dst_ports))
    return out


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


class _Overlap:
    """Which earlier rules' bounding boxes meet a given box: bitset prefix tables."""

    def __init__(self, bounds: Sequence[tuple[tuple[int, int], ...]]) -> None:
        self.dims = []
        for d in range(DIMS):
            by_lo = sorted(range(len(bounds)), key=lambda i: bounds[i][d][0])
            by_hi = sorted(range(len(bounds)), key=lambda i: -bounds[i][d][1])
            los = [bounds[i][d][0] for i in by_lo]
            his = [-bounds[i][d][1] for i in by_hi]
            self.dims.append((los, _prefixes(by_lo), his, _prefixes(by_hi)))

    def meeting(self, bound: tuple[tuple[int, int], ...]) -> int:
        found = -1
        for d, (los, lo_sets, his, hi_sets) in enumerate(self.dims):
            lo, hi = bound[d]
            found &= lo_sets[bisect_right(los, hi)]  # rules with lo <= hi
            found &= hi_sets[bisect_right(his, -lo)]  # rules with hi >= lo
            if not found:
                break
        return found


#: The bound of a rule that covers nothing: meets no box.
_NOWHERE = tuple((-2, -2) for _ in range(DIMS))


def _prefixes(order: list[int]) -> list[int]:
    out, bits = [0], 0
    for i in order:
        bits |= 1 << i
        out.append(bits)
    return out


def _bound(boxes: list[Box]) -> tuple[tuple[int, int], ...]:
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


def shadowed_rules(rule_set: RuleSet) -> list[Shadowed]:
    """Every enabled rule of the set that no flow can reach, with the rules that cover it."""
    rules = rule_set.active
    names = sorted(
        {z for r in rules for z in (r.src_zones or frozenset()) | (r.dst_zones or frozenset())}
    )
    index = {n: i for i, n in enumerate(names)}
    boxes = [_boxes(r, index, covering=False) for r in rules]
    cover = [_boxes(r, index, covering=True) for r in rules]
    bounds = [_bound(b) for b in boxes]
    overlap = _Overlap([_bound(b) if b else _NOWHERE for b in cover])
    out: list[Shadowed] = []
    for i, rule in enumerate(rules):
        candidates = overlap.meeting(bounds[i]) & ((1 << i) - 1)
        order = []
        while candidates:
            low = candidates & -candidates
            order.append(low.bit_length() - 1)
            candidates ^= low
        if not order or not _projections_cover(boxes[i], [cover[j] for j in order]):
            continue
        covering = _cover(boxes[i], [(j, cover[j]) for j in order])
        if covering is not None:
            out.append(Shadowed(rule, tuple(rules[j] for j in covering)))
    return out


def _cover(left: list[Box], earlier: list[tuple[int, list[Box]]]) -> list[int] | None:
    """The earlier rules that take a part of ``left``, if together they take all of it."""
    used: list[int] = []
    for j, theirs in earlier:
        took = False
        for b in theirs:
            nxt: list[Box] = []
            for piece in left:
                rest = _minus(piece, b)
                if rest is None:
                    nxt.append(piece)
                else:
                    took = True
                    nxt.extend(rest)
            left = nxt
            if not left or len(left) > MAX_PIECES:
                break
        if took:
            used.append(j)
        if not left:
            return used
        if len(left) > MAX_PIECES:
            return None
    return None
