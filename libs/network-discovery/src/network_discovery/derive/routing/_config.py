"""What a configuration says about routing protocols and route policy, vendor-neutral.

Readers of configurations (IOS today) fill a :class:`RoutingConfig` per device; the
control-plane computation (:mod:`network_discovery.derive.routing`) works from these and
the device's interfaces, addresses and static routes. Nothing here is stored in a snapshot:
what is stored is the routes worked out from it, marked ``derived``.

Route policy is evaluated here: prefix lists, access lists used as route filters, community
lists, AS-path lists and route maps, with the first-match and implicit-deny semantics of
IOS. A match or set clause the computation does not understand is kept as ``unknown`` so
that a clause relying on it never matches (a route is dropped rather than passed with the
wrong attributes), and the device's notes say so.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = [
    "AclLine",
    "BgpConfig",
    "BgpNeighbor",
    "BgpRoute",
    "CommunityList",
    "InterfaceRouting",
    "OspfNetwork",
    "OspfProcess",
    "PrefixList",
    "PrefixListEntry",
    "Redistribution",
    "RouteFilterAcl",
    "RouteMap",
    "RouteMapClause",
    "RoutingConfig",
]

IPv4Net = ipaddress.IPv4Network
IPv4 = ipaddress.IPv4Address

#: BGP origin codes, in preference order.
ORIGIN_IGP, ORIGIN_EGP, ORIGIN_INCOMPLETE = 0, 1, 2


@dataclass(frozen=True)
class PrefixListEntry:
    permit: bool
    network: IPv4Net
    ge: int | None = None
    le: int | None = None

    def matches(self, prefix: IPv4Net) -> bool:
        if not prefix.subnet_of(self.network):
            return False
        length = prefix.prefixlen
        if self.ge is None and self.le is None:
            return length == self.network.prefixlen
        low = self.ge if self.ge is not None else self.network.prefixlen
        high = self.le if self.le is not None else 32
        return low <= length <= high


@dataclass
class PrefixList:
    name: str
    entries: list[tuple[int, PrefixListEntry]] = field(default_factory=list)

    def permits(self, prefix: IPv4Net) -> bool:
        for _, entry in sorted(self.entries, key=lambda e: e[0]):
            if entry.matches(prefix):
                return entry.permit
        return False


@dataclass(frozen=True)
class AclLine:
    """A line of an access list used to match routes: a standard list matches the network
    address; an extended one matches the network address as its source and the mask as
    its destination (how IOS reads ``match ip address`` in BGP)."""

    permit: bool
    source: tuple[int, int]  # address, wildcard (as integers)
    destination: tuple[int, int] | None = None

    @staticmethod
    def _hit(value: int, spec: tuple[int, int]) -> bool:
        address, wildcard = spec
        return (value & ~wildcard) == (address & ~wildcard)

    def matches(self, prefix: IPv4Net) -> bool:
        if not self._hit(int(prefix.network_address), self.source):
            return False
        return self.destination is None or self._hit(int(prefix.netmask), self.destination)


@dataclass
class RouteFilterAcl:
    name: str
    lines: list[AclLine] = field(default_factory=list)

    def permits(self, prefix: IPv4Net) -> bool:
        for line in self.lines:
            if line.matches(prefix):
                return line.permit
        return False


@dataclass
class CommunityList:
    """``ip community-list``: a standard entry matches when the route carries every
    community it names; an expanded one is a regular expression over the route's
    communities written ``a:b c:d`` (IOS's ``_`` matches a boundary)."""

    name: str
    entries: list[tuple[bool, bool, str]] = field(default_factory=list)  # permit, expanded, text

    def permits(self, communities: frozenset[str]) -> bool:
        text = " ".join(sorted(communities, key=_community_key))
        for permit, expanded, value in self.entries:
            if expanded:
                if _ios_regex(value).search(text):
                    return permit
            elif set(value.split()) <= communities:
                return permit
        return False


@dataclass
class AsPathList:
    name: str
    entries: list[tuple[bool, str]] = field(default_factory=list)

    def permits(self, as_path: tuple[int, ...]) -> bool:
        text = " ".join(str(a) for a in as_path)
        for permit, value in self.entries:
            if _ios_regex(value).search(text):
                return permit
        return False


def _community_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in text.split(":"))


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _ios_regex(value: str) -> re.Pattern[str]:
    """An IOS regular expression: ``_`` matches a comma, brace, start, end or space."""
    cached = _REGEX_CACHE.get(value)
    if cached is None:
        translated = value.replace("_", r"(?:^|$|[ ,{}()])")
        try:
            cached = re.compile(translated)
        except re.error:
            cached = re.compile(r"(?!)")  # a list line that cannot be read matches nothing
        _REGEX_CACHE[value] = cached
    return cached


@dataclass(frozen=True)
class BgpRoute:
    """A BGP path as a router holds it."""

    prefix: IPv4Net
    #: None: originated by this router (network statement, redistribution, aggregate).
    next_hop: IPv4 | None
    as_path: tuple[int, ...] = ()
    local_pref: int = 100
    med: int = 0
    origin: int = ORIGIN_IGP
    communities: frozenset[str] = frozenset()
    weight: int = 0
    #: local, ebgp or ibgp: how this router learnt it.
    source: Literal["local", "ebgp", "ibgp"] = "local"
    #: The peer's address it came from (None when local).
    peer: IPv4 | None = None
    peer_router_id: int = 0
    originator_id: int | None = None
    cluster_list: tuple[int, ...] = ()
    from_client: bool = False
    aggregate: bool = False
    #: The IGP metric towards the next hop, set when the router selects among its paths.
    igp_metric: int = 0


@dataclass(frozen=True)
class RouteMapClause:
    sequence: int
    permit: bool
    #: (kind, values): ip-address, prefix-list, community, as-path, unknown.
    matches: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: (kind, values): local-preference, metric, community, weight, as-path-prepend,
    #: origin, next-hop, unknown.
    sets: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class RouteMap:
    name: str
    clauses: list[RouteMapClause] = field(default_factory=list)


@dataclass(frozen=True)
class Redistribution:
    """``redistribute connected|static|ospf|bgp`` into a protocol."""

    source: str
    subnets: bool = True
    metric: int | None = None
    metric_type: int = 2
    route_map: str | None = None


@dataclass(frozen=True)
class OspfNetwork:
    address: int
    wildcard: int
    area: int

    def covers(self, address: IPv4) -> bool:
        return (int(address) & ~self.wildcard) == (self.address & ~self.wildcard)

    @property
    def specificity(self) -> int:
        return bin(self.wildcard & 0xFFFFFFFF).count("0")


@dataclass
class OspfProcess:
    pid: str
    router_id: IPv4 | None = None
    networks: list[OspfNetwork] = field(default_factory=list)
    passive_default: bool = False
    passive: set[str] = field(default_factory=set)
    not_passive: set[str] = field(default_factory=set)
    redistribute: list[Redistribution] = field(default_factory=list)
    #: ``default-information originate [always] [metric N] [metric-type T]``.
    default_originate: tuple[bool, int, int] | None = None
    reference_bandwidth_mbps: int = 100
    maximum_paths: int = 4
    distance: int = 110
    shutdown: bool = False

    def is_passive(self, interface: str) -> bool:
        if interface in self.not_passive:
            return False
        return self.passive_default or interface in self.passive


@dataclass
class InterfaceRouting:
    """Per-interface routing settings of the configuration."""

    cost: int | None = None
    point_to_point: bool = False
    bandwidth_kbps: int | None = None
    #: ``ip ospf PID area A`` on the interface.
    ospf_area: tuple[str, int] | None = None


@dataclass
class BgpNeighbor:
    address: IPv4
    remote_as: int | None = None
    update_source: str | None = None
    route_map_in: str | None = None
    route_map_out: str | None = None
    prefix_list_in: str | None = None
    prefix_list_out: str | None = None
    send_community: bool = False
    route_reflector_client: bool = False
    next_hop_self: bool = False
    ebgp_multihop: bool = False
    active: bool = True
    shutdown: bool = False
    weight: int = 0
    allowas_in: int = 0
    local_as: int | None = None
    remove_private_as: bool = False
    #: ``neighbor X advertise additional-paths all``: every path is sent, not only the best.
    advertise_all_paths: bool = False


@dataclass
class BgpConfig:
    asn: int
    router_id: IPv4 | None = None
    neighbors: dict[IPv4, BgpNeighbor] = field(default_factory=dict)
    #: network statements: (prefix, route map)
    networks: list[tuple[IPv4Net, str | None]] = field(default_factory=list)
    #: aggregate-address: (prefix, summary-only, as-set)
    aggregates: list[tuple[IPv4Net, bool, bool]] = field(default_factory=list)
    redistribute: list[Redistribution] = field(default_factory=list)
    maximum_paths_ebgp: int = 1
    maximum_paths_ibgp: int = 1
    distance_ebgp: int = 20
    distance_ibgp: int = 200
    distance_local: int = 200
    default_local_pref: int = 100
    cluster_id: IPv4 | None = None
    #: ``bgp bestpath med always``: compare MED across neighbouring ASes.
    always_compare_med: bool = False
    multipath_relax: bool = False
    #: ``bgp additional-paths send|receive`` (with ``select all``).
    add_path_send: bool = False
    add_path_receive: bool = False


@dataclass
class RoutingConfig:
    """Everything a device's configuration says about route computation."""

    ospf: list[OspfProcess] = field(default_factory=list)
    bgp: BgpConfig | None = None
    interfaces: dict[str, InterfaceRouting] = field(default_factory=dict)
    route_maps: dict[str, RouteMap] = field(default_factory=dict)
    prefix_lists: dict[str, PrefixList] = field(default_factory=dict)
    acls: dict[str, RouteFilterAcl] = field(default_factory=dict)
    community_lists: dict[str, CommunityList] = field(default_factory=dict)
    as_path_lists: dict[str, AsPathList] = field(default_factory=dict)
    #: What the configuration asks for that the computation does not do.
    notes: list[str] = field(default_factory=list)

    def interface(self, name: str) -> InterfaceRouting:
        return self.interfaces.setdefault(name, InterfaceRouting())

    # --- route policy -------------------------------------------------------------

    def prefix_allowed(self, kind: str, name: str, prefix: IPv4Net) -> bool:
        """A prefix list or an access list used as a route filter; an undefined list
        permits everything (IOS treats a reference to a missing list as match-any)."""
        if kind == "prefix-list":
            plist = self.prefix_lists.get(name)
            return True if plist is None else plist.permits(prefix)
        acl = self.acls.get(name)
        return True if acl is None else acl.permits(prefix)

    def _clause_matches(self, clause: RouteMapClause, route: BgpRoute) -> bool:
        for kind, values in clause.matches:
            if kind in ("ip-address", "prefix-list"):
                hit = any(self.prefix_allowed(kind, v, route.prefix) for v in values)
            elif kind == "community":
                hit = any(
                    c in self.community_lists and self.community_lists[c].permits(route.communities)
                    for c in values
                )
            elif kind == "as-path":
                hit = any(
                    a in self.as_path_lists and self.as_path_lists[a].permits(route.as_path)
                    for a in values
                )
            else:
                hit = False
            if not hit:
                return False
        return True

    def apply_route_map(self, name: str | None, route: BgpRoute) -> BgpRoute | None:
        """The route as the route map leaves it, or None when it denies it. A route map
        that is named but not defined denies everything (IOS)."""
        if name is None:
            return route
        route_map = self.route_maps.get(name)
        if route_map is None:
            return None
        for clause in sorted(route_map.clauses, key=lambda c: c.sequence):
            if not self._clause_matches(clause, route):
                continue
            if not clause.permit:
                return None
            return _apply_sets(clause, route)
        return None


def _apply_sets(clause: RouteMapClause, route: BgpRoute) -> BgpRoute | None:
    for kind, values in clause.sets:
        if kind == "local-preference":
            route = replace(route, local_pref=int(values[0]))
        elif kind == "metric":
            text = values[0]
            if text.startswith(("+", "-")):
                route = replace(route, med=max(0, route.med + int(text)))
            else:
                route = replace(route, med=int(text))
        elif kind == "weight":
            route = replace(route, weight=int(values[0]))
        elif kind == "community":
            words = list(values)
            if words == ["none"]:
                route = replace(route, communities=frozenset())
                continue
            additive = "additive" in words
            added = frozenset(w for w in words if w != "additive")
            route = replace(route, communities=(route.communities | added) if additive else added)
        elif kind == "as-path-prepend":
            route = replace(route, as_path=tuple(int(v) for v in values) + route.as_path)
        elif kind == "origin":
            codes = {"igp": ORIGIN_IGP, "egp": ORIGIN_EGP, "incomplete": ORIGIN_INCOMPLETE}
            route = replace(route, origin=codes.get(values[0], route.origin))
        elif kind == "next-hop":
            try:
                route = replace(route, next_hop=ipaddress.IPv4Address(values[0]))
            except ValueError:
                return None
        else:
            return None  # a set clause not understood: do not pass the route on altered wrongly
    return route
