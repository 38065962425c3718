"""What a configuration says about routing protocols and route policy, vendor-neutral.

Readers of configurations (IOS / IOS-XE, NX-OS, EOS, Junos) fill a :class:`RoutingConfig`
per device; the control-plane computation (:mod:`network_discovery.derive.routing`) works
from these and the device's interfaces, addresses and static routes. Nothing here is stored
in a snapshot: what is stored is the routes worked out from it, marked ``derived``.

Route policy is evaluated here: prefix lists, access lists used as route filters, community
lists, AS-path lists and route maps, with the first-match and implicit-deny semantics of
IOS. A match or set clause the computation does not understand is kept as ``unknown`` so
that a clause relying on it never matches (a route is dropped rather than passed with the
wrong attributes), and the device's notes say so.

Junos policy statements are route maps too: a term is a clause, ``then accept`` / ``reject``
make it final (:attr:`RouteMapClause.terminal`), a term that only changes attributes lets the
route go on to the next term with the change made, and the default policy at the end of a
chain is a last clause the reader adds. Their ``route-filter`` (longest match, then the match
type) and AS-path regular expressions (over whole AS numbers, anchored) are evaluated here.

Where vendors differ in a default the computation depends on, the difference is a field here
(set by each vendor's reader), never a vendor test in the algorithm.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = [
    "AclLine",
    "AsPathList",
    "BgpConfig",
    "BgpNeighbor",
    "BgpRoute",
    "CommunityList",
    "GeneratedRoute",
    "InterfaceRouting",
    "OspfNetwork",
    "OspfProcess",
    "OspfRange",
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
    communities written ``a:b c:d`` (IOS's ``_`` matches a boundary).

    ``all_of`` (a Junos ``community NAME members ...``): the route matches when each entry
    (a community, or a regular expression when ``expanded``) matches one of its communities."""

    name: str
    entries: list[tuple[bool, bool, str]] = field(default_factory=list)  # permit, expanded, text
    all_of: bool = False

    def permits(self, communities: frozenset[str]) -> bool:
        if self.all_of:
            return bool(self.entries) and all(
                any(_member(expanded, value, c) for c in communities)
                for _, expanded, value in self.entries
            )
        text = " ".join(sorted(communities, key=_community_key))
        for permit, expanded, value in self.entries:
            if expanded:
                if _ios_regex(value).search(text):
                    return permit
            elif set(value.split()) <= communities:
                return permit
        return False


#: Well-known communities by name and by value (RFC 1997, RFC 3765).
WELL_KNOWN = {
    "no-export": "65535:65281",
    "no-advertise": "65535:65282",
    "no-export-subconfed": "65535:65283",
    "local-as": "65535:65283",
    "no-peer": "65535:65284",
}


def _member(expanded: bool, value: str, community: str) -> bool:
    """A Junos community member: a community, or a regular expression over ``a:b`` (a
    well-known community matches by its name or by its value)."""
    forms = {community, WELL_KNOWN.get(community, community)}
    if not expanded:
        return value in forms or WELL_KNOWN.get(value) in forms
    try:
        return any(re.fullmatch(value, form) is not None for form in forms)
    except re.error:
        return False


@dataclass
class AsPathList:
    """``ip as-path access-list`` (IOS regular expressions over the path as text); with
    ``junos``, Junos ``as-path NAME REGEX``: a regular expression over whole AS numbers
    (``.`` is any one AS, ``65100`` that AS), matching the whole path."""

    name: str
    entries: list[tuple[bool, str]] = field(default_factory=list)
    junos: bool = False

    def permits(self, as_path: tuple[int, ...]) -> bool:
        if self.junos:
            text = "".join(f"{a} " for a in as_path)
            return any(_junos_as_regex(v).fullmatch(text) for _, v in self.entries)
        text = " ".join(str(a) for a in as_path)
        for permit, value in self.entries:
            if _ios_regex(value).search(text):
                return permit
        return False


_JUNOS_AS_PIECE = re.compile(r"\s*(\d+-\d+|\d+|\{\d+(?:,\d*)?\}|[.*+?|()^$\[\]])")


def _junos_as_regex(value: str) -> re.Pattern[str]:
    """A Junos AS-path regular expression as one over ``"65001 65002 "`` (each AS number
    followed by a space); one that cannot be read matches nothing."""
    key = f"junos:{value}"
    cached = _REGEX_CACHE.get(key)
    if cached is not None:
        return cached
    out: list[str] = []
    members: list[str] = []
    position, in_set = 0, False
    text = value.strip()
    try:
        while position < len(text):
            found = _JUNOS_AS_PIECE.match(text, position)
            if found is None:
                raise ValueError(text[position:])
            piece, position = found.group(1), found.end()
            if in_set:
                if piece == "]":
                    out.append("(?:" + "|".join(members) + ")")
                    in_set, members = False, []
                elif piece[0].isdigit():
                    members.append(_as_atom(piece))
                else:
                    raise ValueError(piece)
            elif piece == "[":
                in_set = True
            elif piece[0].isdigit():
                out.append(_as_atom(piece))
            elif piece == ".":
                out.append(r"(?:\d+ )")
            elif piece in ("^", "$"):
                continue  # the expression matches the whole path anyway
            else:
                out.append(piece)
        cached = re.compile("".join(out))
    except (ValueError, re.error):
        cached = re.compile(r"(?!)")
    _REGEX_CACHE[key] = cached
    return cached


def _as_atom(token: str) -> str:
    if "-" in token:  # a range of AS numbers
        low, high = (int(t) for t in token.split("-"))
        if high - low > 4096:
            raise ValueError(token)
        return "(?:(?:" + "|".join(str(a) for a in range(low, high + 1)) + ") )"
    return f"(?:{int(token)} )"


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
    #: Where the router has the route from (``bgp``; for one it originates or redistributes:
    #: ``connected``, ``static``, ``ospf``, ``aggregate``), for ``from protocol`` and
    #: ``match route-type`` / ``source-protocol``.
    protocol: str = "bgp"
    #: The interface of a connected route (Junos ``from interface``).
    interface: str | None = None
    #: The route preference a policy set (Junos ``then preference``): its distance in the
    #: table, compared first among paths where :attr:`BgpConfig.preference_first`.
    preference: int | None = None


@dataclass(frozen=True)
class RouteMapClause:
    sequence: int
    permit: bool
    #: (kind, values), every kind must match, one value of a kind is enough: ip-address,
    #: prefix-list, community, as-path, route-type (internal, external, local), protocol,
    #: interface, route-filter (Junos: ``list NAME`` or ``PREFIX TYPE [ARG]``),
    #: local-preference, metric, neighbor, unknown.
    matches: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: (kind, values): local-preference (``+N``/``-N`` add or subtract), metric, community,
    #: community-delete, weight, as-path-prepend, as-path-repeat-first (the first AS N more
    #: times), origin, next-hop (an address, ``self`` or ``peer-address``), preference,
    #: unknown.
    sets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: False: a route that matches takes the sets and goes on to the next clause (a Junos term
    #: without ``accept`` or ``reject``, an IOS clause with ``continue``); ``permit`` then
    #: says whether the route is permitted should no later clause match (IOS ``continue``:
    #: yes; a Junos term: no, the policy's default decides).
    terminal: bool = True
    #: Where a route that matches a clause that is not terminal goes on: the first clause of
    #: this sequence or a later one (IOS ``continue N``, Junos ``next policy``); None: the
    #: next clause.
    goto: int | None = None


@dataclass
class RouteMap:
    name: str
    clauses: list[RouteMapClause] = field(default_factory=list)


@dataclass(frozen=True)
class Redistribution:
    """``redistribute connected|static|ospf|bgp`` into a protocol (a Junos ``export`` policy
    into OSPF is one per protocol it may accept, each with the policy as route map)."""

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


@dataclass(frozen=True)
class OspfRange:
    """An area range of an area border router (IOS ``area A range``, Junos ``area-range``):
    the intra-area routes of ``area`` inside ``prefix`` go to the other areas as this one
    summary, of the largest of their costs (RFC 2328) unless ``cost``; ``advertise`` False
    (``not-advertise``, ``restrict``) sends neither. While the range is active the router
    holds a discard route for it where ``discard`` (``discard_metric``: its metric, else the
    summary's cost)."""

    area: int
    prefix: IPv4Net
    advertise: bool = True
    cost: int | None = None
    discard: bool = True
    discard_metric: int | None = None


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
    #: The distance of external routes when it differs (Junos ``external-preference``, 150).
    distance_external: int | None = None
    shutdown: bool = False
    #: The cost of an interface without a cost of its own, whatever its bandwidth (EOS: 10
    #: unless ``auto-cost reference-bandwidth``); None: from the bandwidth.
    default_cost: int | None = None
    #: The cost of a loopback without a cost of its own (NX-OS 1, Junos 0).
    loopback_cost: int | None = None
    #: Area ranges (summaries of an area into the others).
    ranges: list[OspfRange] = field(default_factory=list)
    #: External metric of ``redistribute X`` without a metric, by source (IOS, NX-OS: 20, and
    #: 1 for BGP); a source not here takes the route's own metric (Junos export).
    redistribute_metric: dict[str, int] = field(
        default_factory=lambda: {"connected": 20, "static": 20, "bgp": 1}
    )

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
    #: The address to source the session from (Junos ``local-address``), instead of an
    #: interface's (``update_source``).
    update_source_address: IPv4 | None = None
    #: Do not send an eBGP peer a route whose AS path starts with the peer's AS (NX-OS unless
    #: ``disable-peer-as-check``, Junos unless ``advertise-peer-as``); IOS and EOS send it.
    peer_as_check: bool = False


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
    #: Weight of the routes the router originates (IOS, NX-OS: 32768; EOS: 0).
    local_weight: int = 32768
    #: Whether a best path that is not the route in use (a route of a lower distance wins in
    #: the routing table) is advertised: IOS and NX-OS do unless ``suppress-inactive``, EOS and
    #: Junos do not (``bgp advertise-inactive`` / ``advertise-inactive``).
    advertise_inactive: bool = True
    #: An aggregate is active when any more specific route is in the routing table, not only
    #: a BGP one (EOS).
    aggregate_from_rib: bool = False
    #: Every route in use in the routing table (connected, static, OSPF, aggregate) is offered
    #: to the export policy, which decides what is advertised (Junos); else only what
    #: ``network`` and ``redistribute`` originate.
    export_rib: bool = False
    #: BGP routes learnt over iBGP and aggregates may be redistributed into OSPF (NX-OS, EOS;
    #: IOS only with ``bgp redistribute-internal``); eBGP routes always may.
    redistribute_internal: bool = False
    #: Paths are compared by route preference first (Junos, where a policy may set it; else
    #: the preference of their kind), before local preference.
    preference_first: bool = False


@dataclass(frozen=True)
class GeneratedRoute:
    """A route the router makes itself while a more specific route is in its table (Junos
    ``routing-options aggregate route P [policy X]``): a discard route of its own protocol,
    which export policies may advertise."""

    prefix: IPv4Net
    distance: int = 130
    protocol: str = "aggregate"
    #: The route map that decides which routes contribute (None: every more specific one).
    policy: str | None = None


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
    #: Routes made from more specific ones (Junos ``aggregate``).
    generated: list[GeneratedRoute] = field(default_factory=list)
    #: A route map that is named but not defined permits every route (EOS) instead of
    #: denying every route (IOS, NX-OS).
    undefined_route_map_permits: bool = False
    #: Interface bandwidth (kb/s) by the start of the interface's name (lower case), for the
    #: OSPF cost of an interface without ``bandwidth``; what is not here takes IOS defaults.
    bandwidth_defaults: tuple[tuple[str, int], ...] = ()
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
            elif kind == "route-filter":
                hit = self._route_filter(values, route.prefix)
            elif kind == "protocol":
                hit = route.protocol in values
            elif kind == "route-type":
                hit = _route_type(route) in values
            elif kind == "interface":
                hit = route.interface is not None and route.interface in values
            elif kind == "local-preference":
                hit = str(route.local_pref) in values
            elif kind == "metric":
                hit = str(route.med) in values
            elif kind == "neighbor":
                hit = route.peer is not None and str(route.peer) in values
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

    def _route_filter(self, values: tuple[str, ...], prefix: IPv4Net) -> bool:
        """Junos ``from prefix-list`` and ``route-filter`` of one term (either may match): a
        prefix list matches its prefixes exactly; of the route filters, the longest one that
        covers the route decides, by its match type."""
        best: tuple[int, str] | None = None
        for value in values:
            words = value.split()
            if words[0] == "list":
                if self.prefix_allowed("prefix-list", words[1], prefix):
                    return True
                continue
            network = ipaddress.IPv4Network(words[0], strict=False)
            if prefix.subnet_of(network) and (best is None or network.prefixlen > best[0]):
                best = (network.prefixlen, value)
        if best is None:
            return False
        return _filter_type(best[1].split(), prefix)

    def apply_route_map(
        self, name: str | None, route: BgpRoute, self_address: IPv4 | None = None
    ) -> BgpRoute | None:
        """The route as the route map leaves it, or None when it denies it. A route map
        that is named but not defined denies everything (IOS, NX-OS) or nothing (EOS,
        :attr:`undefined_route_map_permits`). ``self_address``: the address ``next-hop self``
        sets (the session's)."""
        if name is None:
            return route
        route_map = self.route_maps.get(name)
        if route_map is None:
            return route if self.undefined_route_map_permits else None
        clauses = sorted(route_map.clauses, key=lambda c: c.sequence)
        accepted = False
        at = 0
        while at < len(clauses):
            clause = clauses[at]
            at += 1
            if not self._clause_matches(clause, route):
                continue
            if clause.terminal:
                if not clause.permit:
                    return None
                return _apply_sets(clause, route, self_address)
            changed = _apply_sets(clause, route, self_address)
            if changed is None:
                return None
            route, accepted = changed, accepted or clause.permit
            if clause.goto is not None and clause.goto > clause.sequence:
                at = next(
                    (i for i, c in enumerate(clauses) if c.sequence >= clause.goto), len(clauses)
                )
        return route if accepted else None


def _route_type(route: BgpRoute) -> str:
    if route.protocol != "bgp" or route.source == "local":
        return "local"
    return "internal" if route.source == "ibgp" else "external"


def _filter_type(words: list[str], prefix: IPv4Net) -> bool:
    """A Junos route filter's match type: exact, orlonger, longer, upto /N,
    prefix-length-range /A-/B (an unknown type matches nothing)."""
    length = ipaddress.IPv4Network(words[0], strict=False).prefixlen
    kind = words[1] if len(words) > 1 else "exact"
    have = prefix.prefixlen
    if kind == "exact":
        return have == length
    if kind == "orlonger":
        return have >= length
    if kind == "longer":
        return have > length
    if kind == "upto" and len(words) > 2:
        return length <= have <= int(words[2].lstrip("/"))
    if kind == "prefix-length-range" and len(words) > 2:
        low, _, high = words[2].partition("-")
        return int(low.lstrip("/")) <= have <= int(high.lstrip("/"))
    return False


def _apply_sets(
    clause: RouteMapClause, route: BgpRoute, self_address: IPv4 | None = None
) -> BgpRoute | None:
    for kind, values in clause.sets:
        if kind == "local-preference":
            text = values[0]
            if text.startswith(("+", "-")):
                value = max(0, route.local_pref + int(text))
            else:
                value = int(text)
            route = replace(route, local_pref=min(value, 0xFFFFFFFF))
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
        elif kind == "community-delete":
            kept = frozenset(
                c for c in route.communities if not any(_member(_is_regex(v), v, c) for v in values)
            )
            route = replace(route, communities=kept)
        elif kind == "as-path-prepend":
            route = replace(route, as_path=tuple(int(v) for v in values) + route.as_path)
        elif kind == "as-path-repeat-first":
            if not route.as_path:
                return None
            route = replace(route, as_path=(route.as_path[0],) * int(values[0]) + route.as_path)
        elif kind == "preference":
            route = replace(route, preference=int(values[0]))
        elif kind == "origin":
            codes = {"igp": ORIGIN_IGP, "egp": ORIGIN_EGP, "incomplete": ORIGIN_INCOMPLETE}
            route = replace(route, origin=codes.get(values[0], route.origin))
        elif kind == "next-hop":
            if values[0] == "self":
                if self_address is None:
                    return None
                route = replace(route, next_hop=self_address)
                continue
            if values[0] == "peer-address":  # on import: the neighbour the route came from
                if route.peer is None:
                    return None
                route = replace(route, next_hop=route.peer)
                continue
            try:
                route = replace(route, next_hop=ipaddress.IPv4Address(values[0]))
            except ValueError:
                return None
        else:
            return None  # a set clause not understood: do not pass the route on altered wrongly
    return route


def _is_regex(value: str) -> bool:
    """A community that is written as a value (``65001:1``, ``no-export``, an extended or
    large one), not a regular expression."""
    return _LITERAL_COMMUNITY.fullmatch(value) is None


_LITERAL_COMMUNITY = re.compile(r"\d+:\d+|[a-z-]+|[a-z-]+:[\d.]+:\d+|large:\d+:\d+:\d+")
