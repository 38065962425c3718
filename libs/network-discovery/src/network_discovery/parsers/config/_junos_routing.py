"""The routing-protocol part of a Junos configuration (its set form, which the curly form is
read into): ``protocols ospf``, ``protocols bgp`` (global, group and neighbour levels),
``routing-options`` (``router-id``, ``autonomous-system [loops N]``, ``aggregate route``) and
``policy-options`` (``policy-statement``, ``prefix-list``, ``community``, ``as-path``).

Policy statements become route maps (:class:`RouteMap`), one per chain of policies as a
neighbour or protocol uses it (``import [ A B ]``): each term a clause, ``from`` conditions
its matches (``prefix-list``, ``route-filter``, ``prefix-list-filter`` — any of these may
match —, ``protocol``, ``interface``, ``community``, ``as-path``, ``local-preference``,
``metric``, ``neighbor``), ``then`` actions its sets (``local-preference [add|subtract] N``,
``metric [add|subtract] N``, ``as-path-prepend``, ``as-path-expand [last-as count N]``,
``community add|set|delete``, ``next-hop self|ADDRESS`` (and ``peer-address`` on import),
``preference`` on import, ``origin``); ``accept`` / ``reject`` end the evaluation (``next
term`` / ``next policy`` in the same term win over them, as Junos 25.4 does), a term without
either goes on to the next term, then the next policy, then the default policy, a last
clause: BGP import accepts everything, BGP export accepts the BGP routes in use and nothing
else (a static or direct route is advertised only where a policy accepts it), OSPF export
rejects everything. A condition or action the computation does not evaluate makes its
term never match (``from``) or drop the route (``then``), and is noted.

Junos defaults, as the computation needs them: BGP and OSPF preferences 170 and 10 (150 for
OSPF externals), aggregates 130; every route in use is offered to the BGP export policy
(:attr:`BgpConfig.export_rib`), inactive routes are not advertised; communities are always
sent (Batfish's Junos model sets ``setSendCommunity(true)``); a route whose AS path starts
with an eBGP peer's AS is not sent to it unless ``advertise-peer-as``; ``loops N`` lets the
local AS appear N - 1 times (Junos: the route is hidden when the AS is found N times); a group
with ``type internal`` peers with the local AS, one without ``type`` by its ``peer-as``; OSPF
reference bandwidth 100 Mb/s (Junos documentation, ``reference-bandwidth``), a loopback
cost 0 (Batfish's model), an interface's bandwidth from its name (``ge-`` 1 Gb/s, ``xe-`` 10
Gb/s, ``et-`` 100 Gb/s) unless configured; an external route of an OSPF export keeps the
route's metric unless the policy sets one, type 2.

Not computed, and noted: routing instances and logical systems, ``generate`` routes,
``condition`` and other conditions, ``metric2``, ``metric igp|expression``, ``next-hop
discard|reject``, ``install-nexthop`` and ``multipath-resolve`` actions,
OSPF stub/NSSA areas, ``exact`` area ranges, OSPF import policies, BGP ``local-preference`` and
``metric-out`` at group level.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from network_discovery.derive.routing._config import (
    AsPathList,
    BgpConfig,
    BgpNeighbor,
    CommunityList,
    GeneratedRoute,
    OspfNetwork,
    OspfProcess,
    OspfRange,
    PrefixList,
    PrefixListEntry,
    Redistribution,
    RouteMap,
    RouteMapClause,
    RoutingConfig,
)
from network_discovery.model import canonical_interface_name

__all__ = ["read_junos_routing"]

Problems = list[tuple[int, str]]
_PLATFORM = "juniper_junos"
_OSPF = "ospf"
#: Junos protocol names as the computation names route sources.
_PROTOCOLS = {
    "direct": "connected",
    "static": "static",
    "bgp": "bgp",
    "ospf": "ospf",
    "aggregate": "aggregate",
    "local": "local",
}
#: Interface bandwidth (kb/s) by name, for OSPF costs where ``bandwidth`` is not configured.
_BANDWIDTH = (
    ("fe-", 100_000),
    ("ge-", 1_000_000),
    ("xe-", 10_000_000),
    ("et-", 100_000_000),
    ("ae", 1_000_000),
    ("irb", 1_000_000),
    ("vlan", 1_000_000),
    ("em", 1_000_000),
    ("fxp", 1_000_000),
    ("me", 1_000_000),
)
#: Actions that change nothing the computation looks at.
_HARMLESS = frozenset(
    {
        "tag",
        "tag2",
        "color",
        "color2",
        "load-balance",
        "forwarding-class",
        "priority",
        "aigp-originate",
        "tunnel-attribute",
        "destination-class",
        "source-class",
        "trace",
        "add-path",
        "cos-next-hop-map",
    }
)
_DEST = frozenset({"prefix-list", "route-filter", "prefix-list-filter"})
#: A clause's ``goto`` until the chain is known: on at the next policy's first term.
_NEXT_POLICY = -1
_BGP_PREFERENCE = 170
#: The metric of the discard route of an OSPF area range (LSInfinity).
_MAX_METRIC = 0xFFFFFF
_BANDWIDTH_UNITS = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


class _Bad(ValueError):
    pass


def _int(word: str, what: str) -> int:
    if not word.isdigit():
        raise _Bad(f"{word!r} is not {what}")
    return int(word)


def _asn(word: str) -> int:
    if "." in word:
        high, low = word.split(".", 1)
        return _int(high, "an AS number") * 65536 + _int(low, "an AS number")
    return _int(word, "an AS number")


def _area(word: str) -> int:
    if "." in word:
        return int(ipaddress.IPv4Address(word))
    return _int(word, "an OSPF area")


def _bits(word: str) -> int:
    """``10g``, ``100m``, ``1000000000`` -> bits per second."""
    unit = _BANDWIDTH_UNITS.get(word[-1:].lower())
    number = word[:-1] if unit else word
    if not number.isdigit():
        raise _Bad(f"{word!r} is not a bandwidth")
    return int(number) * (unit or 1)


@dataclass
class _Term:
    name: str
    froms: list[list[str]] = field(default_factory=list)
    thens: list[list[str]] = field(default_factory=list)


@dataclass
class _OspfInterface:
    area: int
    options: list[list[str]] = field(default_factory=list)


Level = tuple[str, ...]


class _JunosRouting:
    def __init__(self) -> None:
        self.config = RoutingConfig(bandwidth_defaults=_BANDWIDTH)
        self.problems: Problems = []
        self.router_id: ipaddress.IPv4Address | None = None
        self.asn: int | None = None
        self.loops: int | None = None
        self.policies: dict[str, dict[str, _Term]] = {}
        self.prefix_lists: dict[str, list[ipaddress.IPv4Network]] = {}
        self.communities: dict[str, list[str]] = {}
        self.as_paths: dict[str, list[str]] = {}
        #: BGP options by level: () global, (group,), (group, neighbour)
        self.bgp: dict[Level, list[list[str]]] = {}
        self.bgp_seen = False
        self.ospf: dict[str, _OspfInterface] = {}
        self.ospf_options: list[list[str]] = []
        #: (area, prefix, options) of ``area A area-range P ...``
        self.ranges: list[tuple[int, str, list[str]]] = []
        self.ospf_seen = False
        self.aggregates: dict[ipaddress.IPv4Network, list[list[str]]] = {}
        self.aggregate_defaults: list[list[str]] = []

    def note(self, text: str) -> None:
        if text not in self.config.notes:
            self.config.notes.append(text)

    def problem(self, line: int, words: list[str], exc: Exception) -> None:
        why = "incomplete statement" if isinstance(exc, IndexError) else str(exc) or "unreadable"
        self.problems.append((line, f"{why}: {'set ' + ' '.join(words)[:160]!r}"))

    # --- statements ---------------------------------------------------------------

    def statement(self, words: list[str]) -> None:
        head = words[0]
        if head == "routing-options" and len(words) > 2:
            self.routing_options(words[1:])
        elif words[:2] == ["protocols", "bgp"]:
            self.bgp_seen = True
            self.bgp_statement(words[2:])
        elif words[:2] == ["protocols", "ospf"]:
            self.ospf_seen = True
            self.ospf_statement(words[2:])
        elif words[:2] == ["protocols", "ospf3"]:
            return
        elif head == "protocols" and len(words) > 1 and words[1] in ("isis", "rip", "ldp", "rsvp"):
            if words[1] in ("isis", "rip"):
                self.note(f"protocols {words[1]} is configured; its routes are not computed")
        elif head == "policy-options" and len(words) > 2:
            self.policy_options(words[1:])
        elif head == "routing-instances" and len(words) > 3 and words[2] == "protocols":
            self.note(f"routing instance {words[1]}: its protocols are not computed")
        elif head == "logical-systems":
            self.note("logical systems are not computed")

    def routing_options(self, words: list[str]) -> None:
        head = words[0]
        if head == "router-id":
            self.router_id = ipaddress.IPv4Address(words[1])
        elif head == "autonomous-system":
            self.asn = _asn(words[1])
            if "loops" in words:
                self.loops = _int(words[words.index("loops") + 1], "a number of loops")
        elif words[:2] == ["aggregate", "route"] and len(words) > 2:
            prefix = ipaddress.ip_network(words[2], strict=False)
            if isinstance(prefix, ipaddress.IPv4Network):
                self.aggregates.setdefault(prefix, []).append(words[3:])
        elif words[:2] == ["aggregate", "defaults"]:
            self.aggregate_defaults.append(words[2:])
        elif head == "generate":
            self.note("routing-options generate is not computed")

    def bgp_statement(self, words: list[str]) -> None:
        level: Level = ()
        if words[:1] == ["group"] and len(words) > 1:
            level, words = (words[1],), words[2:]
            if words[:1] == ["neighbor"] and len(words) > 1:
                level, words = (level[0], words[1]), words[2:]
        elif words[:1] == ["neighbor"] and len(words) > 1:
            level, words = ("", words[1]), words[2:]
        self.bgp.setdefault(level, [])
        if words:
            self.bgp[level].append(words)

    def ospf_statement(self, words: list[str]) -> None:
        if words[:1] == ["area"] and len(words) > 3 and words[2] == "interface":
            name = words[3]
            held = self.ospf.setdefault(name, _OspfInterface(_area(words[1])))
            if len(words) > 4:
                held.options.append(words[4:])
        elif words[:1] == ["area"] and len(words) > 3 and words[2] == "area-range":
            self.ranges.append((_area(words[1]), words[3], words[4:]))
        elif words[:1] == ["area"] and len(words) > 2:
            if words[2] in ("stub", "nssa"):
                self.note(f"OSPF area {words[1]} {words[2]} is not computed")
        else:
            self.ospf_options.append(words)

    def policy_options(self, words: list[str]) -> None:
        head, name, rest = words[0], words[1], words[2:]
        if head == "policy-statement":
            terms = self.policies.setdefault(name, {})
            term = ""
            if rest[:1] == ["term"] and len(rest) > 1:
                term, rest = rest[1], rest[2:]
            held = terms.setdefault(term, _Term(term))
            if rest[:1] == ["from"] and len(rest) > 1:
                held.froms.append(rest[1:])
            elif rest[:1] == ["then"] and len(rest) > 1:
                held.thens.append(rest[1:])
            elif rest[:1] == ["to"]:
                held.froms.append(["to", *rest[1:]])
        elif head == "prefix-list":
            entries = self.prefix_lists.setdefault(name, [])
            if rest[:1] == ["apply-path"]:
                self.note(f"prefix-list {name} apply-path is not computed")
            elif rest:
                network = ipaddress.ip_network(rest[0], strict=False)
                if isinstance(network, ipaddress.IPv4Network):
                    entries.append(network)
        elif head == "community" and rest[:1] == ["members"] and len(rest) > 1:
            self.communities.setdefault(name, []).extend(rest[1:])
        elif head == "community" and rest[:1] == ["invert-match"]:
            self.note(f"community {name} invert-match is not computed")
        elif head == "as-path" and rest:
            self.as_paths.setdefault(name, []).append(" ".join(rest))

    # --- policies -----------------------------------------------------------------

    def finish_lists(self) -> None:
        for name, networks in self.prefix_lists.items():
            entries = [(i, PrefixListEntry(True, n)) for i, n in enumerate(networks)]
            self.config.prefix_lists[name] = PrefixList(name, entries)
        for name, members in self.communities.items():
            values = [(True, _is_regex(m), m) for m in members]
            self.config.community_lists[name] = CommunityList(name, values, all_of=True)
        for name, patterns in self.as_paths.items():
            regexes = [(True, p) for p in patterns]
            self.config.as_path_lists[name] = AsPathList(name, regexes, junos=True)

    def chain(self, kind: str, names: list[str], default: RouteMapClause | None) -> str:
        """The route map of a chain of policies as ``kind`` (bgp-import, bgp-export,
        ospf-export, aggregate) uses it, with that use's default policy last."""
        key = f"{kind} {' '.join(names)}".strip()
        if key in self.config.route_maps:
            return key
        clauses: list[RouteMapClause] = []
        #: the clauses of each policy, to which ``next policy`` jumps past
        ends: list[tuple[int, int]] = []
        for name in names:
            terms = self.policies.get(name)
            if terms is None:
                self.note(f"policy-statement {name} is not defined")
                continue
            start = len(clauses)
            for term in terms.values():
                clauses.append(self.clause(len(clauses) + 1, name, term, kind))
            ends.append((start, len(clauses)))
        for start, end in ends:  # next policy: on at the next policy's first term
            for at in range(start, end):
                if clauses[at].goto == _NEXT_POLICY:
                    clauses[at] = replace(clauses[at], goto=end + 1)
        if default is not None:
            clauses.append(
                RouteMapClause(len(clauses) + 1, default.permit, default.matches, default.sets)
            )
        self.config.route_maps[key] = RouteMap(key, clauses)
        return key

    def clause(self, sequence: int, policy: str, term: _Term, kind: str) -> RouteMapClause:
        where = f"policy-statement {policy}" + (f" term {term.name}" if term.name else "")
        dest: list[str] = []
        grouped: dict[str, list[str]] = {}
        unknown: list[tuple[str, tuple[str, ...]]] = []
        for words in term.froms:
            head, values = words[0], words[1:]
            if head in _DEST and values:
                dest += self.destination(head, values, where)
            elif head == "protocol" and values:
                grouped.setdefault("protocol", []).append(_PROTOCOLS.get(values[0], values[0]))
            elif head == "interface" and values:
                grouped.setdefault("interface", []).append(
                    canonical_interface_name(values[0], _PLATFORM)
                )
            elif head in ("community", "as-path") and values:
                grouped.setdefault(head, []).append(values[0])
            elif head in ("local-preference", "metric", "neighbor") and len(values) == 1:
                grouped.setdefault(head, []).append(values[0])
            elif head == "family" and values == ["inet"]:
                continue
            else:
                self.note(
                    f"{where}: from {' '.join(words)} is not computed (the term never matches)"
                )
                unknown.append(("unknown", tuple(words)))
        matches: list[tuple[str, tuple[str, ...]]] = [(k, tuple(v)) for k, v in grouped.items()]
        if dest:
            matches.append(("route-filter", tuple(dest)))
        matches += unknown
        sets: list[tuple[str, tuple[str, ...]]] = []
        terminal, permit = False, False
        bare = any(w in (["accept"], ["reject"]) for w in term.thens)
        for words in term.thens:
            head = words[0]
            if head in ("accept", "reject"):
                terminal, permit = True, head == "accept"
            elif words in (["next", "term"], ["next", "policy"]):
                continue
            elif head == "default-action" and bare:
                continue  # a bare accept or reject in the same term wins (observed on 25.4)
            else:
                found = self.action(words, where, kind)
                if found is not None:
                    sets.append(found)
        goto = None
        flow = [w for w in term.thens if w in (["next", "term"], ["next", "policy"])]
        if flow:
            # next term / next policy win over accept or reject in the same term (observed on
            # Junos 25.4: the lab junos_then_action_conflicts); of the two, the last one
            terminal, permit = False, False
            goto = _NEXT_POLICY if flow[-1] == ["next", "policy"] else None
        return RouteMapClause(sequence, permit, tuple(matches), tuple(sets), terminal, goto)

    def destination(self, head: str, values: list[str], where: str) -> list[str]:
        """``prefix-list NAME``, ``route-filter P TYPE [ARG]``, ``prefix-list-filter NAME
        TYPE`` as route-filter values (a ``through`` filter or an action in the filter is
        not computed: nothing matches it)."""
        if head == "prefix-list":
            return [f"list {values[0]}"]
        if head == "prefix-list-filter":
            kind = values[1] if len(values) > 1 else "exact"
            return [f"{n} {kind}" for n in self.prefix_lists.get(values[0], [])]
        network = ipaddress.ip_network(values[0], strict=False)
        if not isinstance(network, ipaddress.IPv4Network):
            return []
        kind = values[1] if len(values) > 1 else "exact"
        known = {"exact": 2, "orlonger": 2, "longer": 2, "upto": 3, "prefix-length-range": 3}
        if kind not in known or len(values) != known[kind]:
            self.note(f"{where}: from route-filter {' '.join(values)} is not computed")
            return [f"{network} unknown"]
        return [" ".join([str(network), *values[1:]])]

    def action(self, words: list[str], where: str, kind: str) -> tuple[str, tuple[str, ...]] | None:
        """A ``then`` action as a set clause; None for one that changes nothing computed."""
        head, rest = words[0], words[1:]
        if head in _HARMLESS or (head == "external" and kind.startswith("bgp")):
            return None  # (an OSPF external type means nothing to a BGP route)
        if head in ("local-preference", "metric") and rest:
            if rest[0] in ("add", "subtract") and len(rest) == 2 and rest[1].isdigit():
                sign = "+" if rest[0] == "add" else "-"
                return head, (f"{sign}{rest[1]}",)
            if len(rest) == 1 and rest[0].isdigit():
                return head, (rest[0],)
        elif head in ("as-path-prepend", "as-path-expand") and rest:
            numbers = " ".join(rest).split()
            if numbers[:2] == ["last-as", "count"] and len(numbers) == 3 and numbers[2].isdigit():
                return "as-path-repeat-first", (numbers[2],)
            if all(n.isdigit() for n in numbers):
                return "as-path-prepend", tuple(numbers)
        elif head == "preference" and len(rest) == 1 and rest[0].isdigit():
            if kind.startswith("bgp-import"):
                return "preference", (rest[0],)
        elif head == "community" and len(rest) == 2:
            operation = {"+": "add", "=": "set", "-": "delete"}.get(rest[0], rest[0])
            members = self.communities.get(rest[1])
            if members is not None and operation == "delete":
                return "community-delete", tuple(members)
            if members is not None and operation in ("add", "set"):
                if not any(_is_regex(m) for m in members):
                    extra = ("additive",) if operation == "add" else ()
                    return "community", (*members, *extra)
        elif head == "next-hop" and len(rest) == 1:
            if rest[0] == "self":
                return "next-hop", ("self",)
            if rest[0] == "peer-address" and kind.startswith("bgp-import"):
                return "next-hop", ("peer-address",)
            try:
                return "next-hop", (str(ipaddress.IPv4Address(rest[0])),)
            except ValueError:
                pass
        elif head == "origin" and len(rest) == 1:
            return "origin", (rest[0],)
        self.note(f"{where}: then {' '.join(words)} is not computed (its routes are dropped)")
        return "unknown", tuple(words)

    # --- the result ---------------------------------------------------------------

    def finish(self) -> RoutingConfig:
        self.finish_lists()
        if self.ospf_seen:
            self.finish_ospf()
        if self.bgp_seen:
            self.finish_bgp()
        self.finish_aggregates()
        return self.config

    def finish_ospf(self) -> None:
        process = OspfProcess(pid=_OSPF, router_id=self.router_id, distance=10)
        process.distance_external = 150
        process.loopback_cost = 0
        process.redistribute_metric = {}
        exports: list[str] = []
        for words in self.ospf_options:
            try:
                head = words[0]
                if head == "reference-bandwidth" and len(words) == 2:
                    process.reference_bandwidth_mbps = max(1, _bits(words[1]) // 1_000_000)
                elif head == "export" and len(words) == 2:
                    exports.append(words[1])
                elif head == "preference" and len(words) == 2:
                    process.distance = _int(words[1], "a preference")
                elif head == "external-preference" and len(words) == 2:
                    process.distance_external = _int(words[1], "a preference")
                elif words == ["disable"]:
                    process.shutdown = True
                elif head == "import":
                    self.note("OSPF import policies are not computed")
            except (ValueError, IndexError) as exc:
                self.problem(0, ["protocols", "ospf", *words], exc)
        for name, held in self.ospf.items():
            options = [w[0] for w in held.options]
            if "disable" in options:
                continue
            if name == "all":
                process.networks.append(OspfNetwork(0, 0xFFFFFFFF, held.area))
                process.passive_default = process.passive_default or "passive" in options
                continue
            canonical = canonical_interface_name(name, _PLATFORM)
            settings = self.config.interface(canonical)
            settings.ospf_area = (_OSPF, held.area)
            for words in held.options:
                if words[0] == "passive":
                    process.passive.add(canonical)
                elif words[0] == "metric" and len(words) == 2 and words[1].isdigit():
                    settings.cost = int(words[1])
                elif words[:2] == ["interface-type", "p2p"]:
                    settings.point_to_point = True
        for area, text, rest in self.ranges:
            process.ranges.append(self.area_range(area, text, rest))
        if exports:
            route_map = self.chain("ospf-export", exports, None)
            for source in ("connected", "static", "bgp", "aggregate"):
                process.redistribute.append(Redistribution(source, True, None, 2, route_map))
        self.config.ospf.append(process)

    def area_range(self, area: int, text: str, options: list[str]) -> OspfRange:
        """``area-range P [restrict] [override-metric N]``: Junos holds the discard route
        (metric 16777215) even of a range it does not advertise (observed on a vQFX 17.4)."""
        prefix = ipaddress.IPv4Network(text, strict=False)
        cost = None
        if "override-metric" in options:
            cost = _int(options[options.index("override-metric") + 1], "a metric")
        if "exact" in options:
            self.note(f"OSPF area-range {text} exact is not computed (taken as a range)")
        return OspfRange(area, prefix, "restrict" not in options, cost, True, _MAX_METRIC)

    def options(self, level: Level) -> list[list[str]]:
        return self.bgp.get(level, [])

    def resolved(self, group: str, neighbor: str) -> list[list[list[str]]]:
        """The options of a neighbour's levels, the most specific first."""
        levels: list[Level] = [(group, neighbor), (group,), ()] if group else [("", neighbor), ()]
        return [self.options(level) for level in levels]

    def finish_bgp(self) -> None:
        if self.asn is None:
            self.note("protocols bgp without routing-options autonomous-system: not computed")
            return
        bgp = BgpConfig(asn=self.asn, router_id=self.router_id)
        bgp.distance_ebgp = bgp.distance_ibgp = bgp.distance_local = _BGP_PREFERENCE
        bgp.advertise_inactive = False
        bgp.export_rib = True
        bgp.redistribute_internal = True
        bgp.preference_first = True
        for words in self.options(()):
            head = words[0]
            if head == "preference" and len(words) == 2 and words[1].isdigit():
                bgp.distance_ebgp = bgp.distance_ibgp = bgp.distance_local = int(words[1])
            elif words == ["path-selection", "always-compare-med"]:
                bgp.always_compare_med = True
            elif words == ["advertise-inactive"]:
                bgp.advertise_inactive = True
        for level in self.bgp:
            if len(level) != 2:
                continue
            try:
                neighbor = self.neighbor(bgp, *level)
            except (ValueError, IndexError) as exc:
                self.problem(0, ["protocols", "bgp", "neighbor", level[1]], exc)
                continue
            if neighbor is not None:
                bgp.neighbors[neighbor.address] = neighbor
        self.config.bgp = bgp

    def neighbor(self, bgp: BgpConfig, group: str, name: str) -> BgpNeighbor | None:
        try:
            address = ipaddress.IPv4Address(name)
        except ValueError:
            if ":" not in name:
                self.note(f"BGP neighbour {name} is not computed")
            return None
        levels = self.resolved(group, name)

        def value(key: str) -> list[str] | None:
            for options in levels:
                for words in reversed(options):
                    if words[0] == key:
                        return words[1:]
            return None

        def chain(key: str) -> list[str]:
            for options in levels:
                names = [w[1] for w in options if w[0] == key and len(w) == 2]
                if names:
                    return names
            return []

        def families() -> list[list[str]]:
            for options in levels:
                found = [w[1:] for w in options if w[0] == "family"]
                if found:
                    return found
            return []

        kind = value("type")
        peer_as = value("peer-as")
        local_as = value("local-as")
        local = _asn(local_as[0]) if local_as else None
        internal = kind == ["internal"] or (
            kind is None and peer_as is not None and _asn(peer_as[0]) == bgp.asn
        )
        remote = (local or bgp.asn) if internal else (_asn(peer_as[0]) if peer_as else None)
        if remote is None:
            self.note(f"BGP neighbour {name}: no peer-as")
        local_address = value("local-address")
        found = families()
        active = not found or any(f[:2] in (["inet", "unicast"], ["inet", "any"]) for f in found)
        loops = self.loops
        for f in found:
            if f[:2] == ["inet", "unicast"] and "loops" in f:
                loops = _int(f[f.index("loops") + 1], "a number of loops")
        cluster = value("cluster")
        if cluster:
            cluster_id = ipaddress.IPv4Address(cluster[0])
            if bgp.cluster_id is not None and bgp.cluster_id != cluster_id:
                self.note("several BGP cluster ids: the last one is used")
            bgp.cluster_id = cluster_id
        multipath = value("multipath")
        if multipath is not None:
            bgp.maximum_paths_ebgp = bgp.maximum_paths_ibgp = 64
            bgp.multipath_relax = bgp.multipath_relax or "multiple-as" in multipath
        for key in ("local-preference", "metric-out", "as-override", "allow"):
            if value(key) is not None:
                self.note(f"BGP {key} is not computed")
        import_chain = chain("import")
        export_chain = chain("export")
        return BgpNeighbor(
            address=address,
            remote_as=remote,
            update_source_address=(
                ipaddress.IPv4Address(local_address[0]) if local_address else None
            ),
            route_map_in=self.chain("bgp-import", import_chain, RouteMapClause(0, True)),
            route_map_out=self.chain(
                "bgp-export", export_chain, RouteMapClause(0, True, (("protocol", ("bgp",)),))
            ),
            send_community=True,
            route_reflector_client=bool(cluster),
            ebgp_multihop=value("multihop") is not None,
            active=active,
            allowas_in=max(0, loops - 1) if loops else 0,
            local_as=local,
            remove_private_as=value("remove-private") is not None,
            peer_as_check=value("advertise-peer-as") is None,
        )

    def finish_aggregates(self) -> None:
        defaults: dict[str, str] = {}
        for words in self.aggregate_defaults:
            if len(words) == 2:
                defaults[words[0]] = words[1]
        for prefix, options in self.aggregates.items():
            settings = dict(defaults)
            for words in options:
                if len(words) == 2:
                    settings[words[0]] = words[1]
            preference = settings.get("preference", "130")
            policy = settings.get("policy")
            route_map = (
                self.chain("aggregate", [policy], RouteMapClause(0, True)) if policy else None
            )
            distance = int(preference) if preference.isdigit() else 130
            self.config.generated.append(GeneratedRoute(prefix, distance, "aggregate", route_map))


#: A community member that is a value, not a regular expression: ``65001:1``, ``no-export``,
#: an extended (``target:65001:1``, ``origin:1.1.1.1:2``) or large one (``large:1:2:3``).
_LITERAL = re.compile(r"\d+:\d+|[a-z-]+|[a-z-]+:[\d.]+:\d+|large:\d+:\d+:\d+")


def _is_regex(member: str) -> bool:
    return _LITERAL.fullmatch(member) is None


def read_junos_routing(
    statements: Iterable[tuple[int, list[str]]],
) -> tuple[RoutingConfig, Problems]:
    """The routing-protocol configuration of a Junos device from its active ``set``
    statements (line number, words), and the statements that could not be read."""
    reader = _JunosRouting()
    for number, words in statements:
        try:
            reader.statement(words)
        except (ValueError, IndexError) as exc:
            reader.problem(number, words, exc)
    return reader.finish(), reader.problems
