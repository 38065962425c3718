"""Compiled firewall policy and first-match evaluation.

A :class:`Rule` holds each match dimension as integer ranges (see ``_intervals``), computed
once, so evaluating a flow is a handful of integer comparisons per rule. A :class:`RuleSet` is
an ordered list of rules with the action taken when none matches. Zones: ``None`` means any
zone; a flow whose zone is unknown (an interface in no zone) matches only "any" rules.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model.firewall import PROTOCOL_NUMBERS, NatAction, normalise_protocol

from meshq_graph_engine.firewall._index import DestinationIndex
from meshq_graph_engine.firewall._intervals import (
    ANY_ADDRESS,
    Ranges,
    contains,
    encode_address,
    intersect,
    merge,
)

__all__ = [
    "ALLOW_ACTIONS",
    "ANY_PORT",
    "ANY_PROTOCOL",
    "Decision",
    "Flow",
    "Rule",
    "RuleSet",
    "Service",
    "make_flow",
    "port_ranges",
    "protocol_number",
    "protocol_ranges",
    "zones",
]

ANY_PROTOCOL: Ranges = ((0, 255),)
ANY_PORT: Ranges = ((0, 65535),)
ALLOW_ACTIONS = frozenset({"permit", "allow", "accept"})
#: Protocols whose services carry ports.
PORTED = frozenset({6, 17, 132})
_PORTED_RANGES: Ranges = tuple((p, p) for p in sorted(PORTED))
_ANY_NAMES = frozenset({"", "any", "ip", "ipv4", "ipv6", "all", "*"})


def protocol_number(value: str | int) -> int:
    """An IP protocol as its number: ``tcp`` → 6, ``icmp6`` → 58, ``"17"`` → 17 (the model's
    protocol vocabulary)."""
    text = normalise_protocol(value)
    if text == "any":
        raise ValueError("a flow has one protocol, not any")
    return PROTOCOL_NUMBERS[text] if text in PROTOCOL_NUMBERS else int(text)


def protocol_ranges(value: str | int | None) -> Ranges:
    """A rule's protocol: ``any``/``ip`` for every protocol, ``tcp-udp`` for both, else one."""
    if value is None or (isinstance(value, str) and value.strip().lower() in _ANY_NAMES):
        return ANY_PROTOCOL
    if isinstance(value, str) and value.strip().lower() == "tcp-udp":
        return ((6, 6), (17, 17))
    number = protocol_number(value)
    return ((number, number),)


def port_ranges(value: Any) -> Ranges:
    """Ports given as ``None``/``any``, ``80``, ``"1000-2000"``, ``[lo, hi]`` or a list of them."""
    if value is None or value == "" or (isinstance(value, str) and value.lower() == "any"):
        return ANY_PORT
    if isinstance(value, int):
        return _checked(((value, value),))
    if isinstance(value, str):
        out = []
        for part in value.replace(",", " ").split():
            lo, _, hi = part.partition("-")
            out.append((int(lo), int(hi or lo)))
        return _checked(merge(out)) if out else ANY_PORT
    if isinstance(value, dict):
        start = int(value["start"])
        return _checked(((start, int(value.get("end", start))),))
    items = list(value)
    if len(items) == 2 and all(isinstance(x, int) for x in items):
        return _checked(((items[0], items[1]),))
    if not items:
        return ANY_PORT
    return _checked(merge(r for item in items for r in port_ranges(item)))


def _checked(ranges: Ranges) -> Ranges:
    for lo, hi in ranges:
        if not 0 <= lo <= hi <= 65535:
            raise ValueError(f"invalid port range {lo}-{hi}: ports are 0-65535, low to high")
    return ranges


@dataclass(frozen=True, slots=True)
class Service:
    """One protocol with its source and destination ports (ports only bind TCP/UDP/SCTP).

    ``icmp_type``/``icmp_code`` narrow an ICMP service; ``established`` (TCP) matches only
    packets of connections already open, never the first packet that path analysis judges.
    """

    protocols: Ranges = ANY_PROTOCOL
    src_ports: Ranges = ANY_PORT
    dst_ports: Ranges = ANY_PORT
    icmp_type: int | None = None
    icmp_code: int | None = None
    established: bool = False

    @classmethod
    def of(cls, protocol: Any = None, src_ports: Any = None, dst_ports: Any = None) -> Service:
        return cls(protocol_ranges(protocol), port_ranges(src_ports), port_ranges(dst_ports))

    @property
    def narrowed(self) -> bool:
        """Matches only part of its box (an ICMP type, established TCP): never covers others."""
        return self.established or self.icmp_type is not None

    @property
    def unmatchable(self) -> bool:
        """Names ports, but none of its protocols has ports (``icmp dst 80``): no packet
        matches it. (Ports given for several protocols bind the ported ones among them.)"""
        ports = self.src_ports != ANY_PORT or self.dst_ports != ANY_PORT
        return ports and not intersect(self.protocols, _PORTED_RANGES)

    def matches(self, flow: Flow) -> bool:
        proto = flow.proto
        if not contains(self.protocols, proto) or self.established:
            return False
        if self.icmp_type is not None:
            return self.icmp_type == flow.icmp_type and self.icmp_code in (None, flow.icmp_code)
        if proto not in PORTED:
            return not self.unmatchable
        if self.src_ports != ANY_PORT and (
            flow.sport is None or not contains(self.src_ports, flow.sport)
        ):
            return False
        return self.dst_ports == ANY_PORT or (
            flow.dport is not None and contains(self.dst_ports, flow.dport)
        )


ANY_SERVICE = Service()


@dataclass(frozen=True, slots=True)
class Flow:
    """A packet to judge: addresses already on the integer line, zones by name. An ICMP flow
    is an echo request (type 8, or 128 for ICMPv6, code 0)."""

    src: int
    dst: int
    proto: int
    sport: int | None
    dport: int | None
    src_zone: str | None = None
    dst_zone: str | None = None

    @property
    def icmp_type(self) -> int | None:
        return _ECHO.get(self.proto)

    @property
    def icmp_code(self) -> int | None:
        return 0 if self.proto in _ECHO else None

    def in_zones(self, src_zone: str | None, dst_zone: str | None) -> Flow:
        return Flow(self.src, self.dst, self.proto, self.sport, self.dport, src_zone, dst_zone)


_ECHO = {1: 8, 58: 128}


def make_flow(
    source: str,
    destination: str,
    protocol: str | int,
    port: int | None = None,
    *,
    source_port: int | None = None,
    src_zone: str | None = None,
    dst_zone: str | None = None,
) -> Flow:
    """A flow from text; ``port`` is the destination port (TCP, UDP, SCTP)."""
    proto = protocol_number(protocol)
    ported = proto in PORTED
    return Flow(
        encode_address(source),
        encode_address(destination),
        proto,
        source_port if ported else None,
        port if ported else None,
        src_zone,
        dst_zone,
    )


@dataclass(frozen=True, slots=True)
class Rule:
    device: str
    rule_set: str
    position: int
    name: str
    action: str
    text: str = ""
    enabled: bool = True
    src_zones: frozenset[str] | None = None
    dst_zones: frozenset[str] | None = None
    src: Ranges = ANY_ADDRESS
    dst: Ranges = ANY_ADDRESS
    services: tuple[Service, ...] = (ANY_SERVICE,)
    #: an iptables nat-table rule: the translation it applies (its action is permit)
    nat: NatAction | None = None

    @property
    def allows(self) -> bool:
        return self.action in ALLOW_ACTIONS

    def matches(self, flow: Flow) -> bool:
        if not self.enabled:
            return False
        if self.src_zones is not None and flow.src_zone not in self.src_zones:
            return False
        if self.dst_zones is not None and flow.dst_zone not in self.dst_zones:
            return False
        if not contains(self.src, flow.src) or not contains(self.dst, flow.dst):
            return False
        return any(s.matches(flow) for s in self.services)

    def describe(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "rule_set": self.rule_set,
            "position": self.position,
            "name": self.name,
            "action": self.action,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """What a rule set did with a flow: the deciding rule, or the default (``rule`` None)."""

    device: str
    rule_set: str
    action: str
    rule: Rule | None
    #: rules actually tested
    evaluated: int
    #: rules a plain first-match scan passes to decide (the deciding rule's place in order)
    reached: int = 0

    @property
    def allowed(self) -> bool:
        return self.action in ALLOW_ACTIONS

    def describe(self) -> dict[str, Any]:
        if self.rule is not None:
            out = self.rule.describe()
        else:
            out = {
                "device": self.device,
                "rule_set": self.rule_set,
                "position": None,
                "name": "(default)",
                "action": self.action,
                "text": f"default action of {self.rule_set}: {self.action}",
            }
        return {**out, "verdict": "allowed" if self.allowed else "denied"}


@dataclass(frozen=True)
class RuleSet:
    """An ordered rule list with its default action, owned by one device.

    ``rules`` may be a sequence that compiles its rules on first use (``_load``): the
    evaluation order and the destination index are worked out on first use too, so a rule
    set no question reaches costs nothing but its rows."""

    device: str
    name: str
    default_action: str
    rules: Sequence[Rule] = field(default_factory=tuple)
    # worked out once from ``rules`` on first use; not part of the value
    _order: tuple[tuple[Rule, ...], DestinationIndex | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def _ordered(self) -> tuple[tuple[Rule, ...], DestinationIndex | None]:
        order = self._order
        if order is None:
            was = gc.isenabled()
            gc.disable()  # many long-lived objects at once (see ``_compiled.no_collection``)
            try:
                active = tuple(r for r in sorted(self.rules, key=_pos) if r.enabled)
                index = DestinationIndex.build(active) if len(active) >= _INDEX_FROM else None
            finally:
                if was:
                    gc.enable()
            order = (active, index)
            object.__setattr__(self, "_order", order)
        return order

    @property
    def active(self) -> tuple[Rule, ...]:
        """The enabled rules in evaluation order."""
        return self._ordered()[0]

    @property
    def ready(self) -> bool:
        """Whether its rules are compiled and ordered already."""
        return self._order is not None

    def evaluate(self, flow: Flow) -> Decision:
        """First match in rule order; the default action when no rule matches. Large rule
        sets test only the rules whose destinations can contain the flow's (``_index``)."""
        active, index = self._ordered()
        order = index.candidates(flow.dst) if index is not None else range(len(active))
        tested = 0
        for i in order:
            tested += 1
            rule = active[i]
            if rule.matches(flow):
                return Decision(self.device, self.name, rule.action, rule, tested, i + 1)
        return Decision(self.device, self.name, self.default_action, None, tested, len(active))


#: Rule sets this large get a destination index.
_INDEX_FROM = 32


def _pos(rule: Rule) -> int:
    return rule.position


def zones(names: Iterable[str] | None) -> frozenset[str] | None:
    """A zone list as a rule holds it: None (any) when empty or containing ``any``."""
    if names is None:
        return None
    got = frozenset(n for n in names if n)
    return None if not got or "any" in {n.lower() for n in got} else got
