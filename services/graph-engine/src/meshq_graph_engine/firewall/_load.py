"""From graph rows to compiled policies, routing tables and the layer-3 view.

Everything is read from the graph store with fixed Cypher (no user text). On the writer the
view is kept up to date from each change (``_live``); elsewhere it is kept per store while the
graph does not change: the cache key is the set of applied snapshots (their count and the
newest ``applied_at``), read before the data so a cached view is never older than its key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import structlog
from meshq_runtime.graph.store import GraphStore
from network_discovery.model import NatAction
from network_discovery.model import Service as ModelService

from meshq_graph_engine.firewall._intervals import address_ranges, merge
from meshq_graph_engine.firewall.policy import (
    ANY_PORT,
    Rule,
    RuleSet,
    Service,
    protocol_ranges,
    zones,
)
from meshq_graph_engine.firewall.routes import NextHop, RouteEntry, RouteTable, vrf_name
from meshq_graph_engine.firewall.topology import (
    Binding,
    DevicePolicy,
    EndpointAddress,
    L3Interface,
    Topology,
)

__all__ = [
    "CompiledRuleSets",
    "GraphView",
    "compile_nat",
    "compile_rule",
    "compile_service",
    "load_policies",
    "load_routes",
    "load_rule_set",
    "load_rule_sets",
    "netfilter_of",
    "parse_binding",
    "policies_from_rows",
    "read_view",
    "routes_from_rows",
    "view",
]

log = structlog.get_logger(__name__)

_VERSION = "MATCH (s:Snapshot) RETURN count(s) AS n, max(s.applied_at) AS last"
_ADDRESSES = (
    "MATCH (i:Interface)-[:HAS_IP]->(a:IPAddress) "
    "RETURN a.device AS device, a.interface AS interface, a.ip AS ip, a.network AS network, "
    "coalesce(a.vrf, i.vrf) AS vrf"
)
_ENDPOINTS = (
    "MATCH (e:Endpoint) RETURN e.mac AS mac, e.ips AS ips, e.device AS device, "
    "e.interface AS interface"
)
_ROUTES = (
    "MATCH (r:Route) WHERE ($device = '' OR r.device = $device) "
    "RETURN r.device AS device, r.vrf AS vrf, r.prefix AS prefix, r.protocol AS protocol, "
    "r.next_hops AS next_hops, r.interfaces AS interfaces, r.distance AS distance, "
    "r.metric AS metric, coalesce(r.origin, 'collected') AS origin"
)
_RULESETS = (
    "MATCH (s:FirewallRuleset) WHERE ($device = '' OR s.device = $device) "
    "RETURN s.device AS device, s.name AS name, s.kind AS kind, "
    "s.default_action AS default_action, s.default_text AS default_text, s.bindings AS bindings, "
    "s.netfilter_table AS netfilter_table, s.netfilter_hook AS netfilter_hook, "
    "s.family AS family"
)
_RULES = (
    "MATCH (r:FirewallRule) WHERE ($device = '' OR r.device = $device) "
    "RETURN r.device AS device, r.ruleset AS ruleset, r.position AS position, r.name AS name, "
    "r.action AS action, r.src_zones AS src_zones, r.dst_zones AS dst_zones, "
    "r.sources AS sources, r.destinations AS destinations, r.services AS services, "
    "r.enabled AS enabled, r.text AS text, r.nat AS nat"
)
_ZONES = (
    "MATCH (z:FirewallZone) WHERE ($device = '' OR z.device = $device) "
    "RETURN z.device AS device, z.name AS name, z.interfaces AS interfaces"
)


@lru_cache(maxsize=8192)
def compile_service(text: str) -> Service:
    """A service as the graph stores it (``tcp dst 443``) in matching form (the same few
    service texts recur across thousands of rules: parsed once)."""
    model = ModelService.parse(text)

    def ports(ranges: Iterable[Any]) -> tuple[tuple[int, int], ...]:
        got = merge((r.lo, r.hi) for r in ranges)
        return got or ANY_PORT

    return Service(
        protocol_ranges(model.protocol),
        ports(model.src_ports),
        ports(model.dst_ports),
        model.icmp_type,
        model.icmp_code,
        model.established,
    )


@lru_cache(maxsize=4096)
def compile_nat(text: str) -> NatAction:
    """A rule's translation as the graph stores it (``dnat to 10.0.0.5 port 80``)."""
    return NatAction.parse(text)


def compile_rule(row: dict[str, Any]) -> Rule:
    services = tuple(compile_service(t) for t in row.get("services") or ()) or (Service(),)
    nat = row.get("nat")
    return Rule(
        device=row["device"],
        rule_set=row["ruleset"],
        position=int(row["position"]),
        name=row["name"],
        action=str(row["action"]),
        text=row.get("text") or "",
        enabled=row.get("enabled") is not False,
        src_zones=zones(row.get("src_zones")),
        dst_zones=zones(row.get("dst_zones")),
        src=address_ranges(row.get("sources") or None),
        dst=address_ranges(row.get("destinations") or None),
        services=services,
        nat=compile_nat(nat) if nat else None,
    )


#: The filter chains an older graph stored without their table and hook.
_FILTER_CHAINS = frozenset({"INPUT", "FORWARD", "OUTPUT"})


def netfilter_of(row: dict[str, Any]) -> tuple[str | None, str | None, int | None]:
    """(table, hook, family) of a rule set row: what it says, or for an iptables chain a
    graph written before rule sets carried them, what its name says (``ip6:FORWARD``)."""
    if row.get("netfilter_hook"):
        return row.get("netfilter_table"), row["netfilter_hook"], row.get("family")
    if row.get("kind") == "chain":
        name = str(row["name"])
        family = 6 if name.startswith("ip6:") else 4
        chain = name.removeprefix("ip6:")
        if chain in _FILTER_CHAINS:
            return "filter", chain, family
    return None, None, None


def parse_binding(text: str) -> tuple[str, str | None]:
    """``in GigabitEthernet0/1`` → ("in", "GigabitEthernet0/1"); ``transit`` → ("transit", None)."""
    direction, _, interface = text.strip().partition(" ")
    return direction, interface.strip() or None


async def load_rule_sets(store: GraphStore, device: str = "", name: str = "") -> list[RuleSet]:
    """Every rule set defined on every device (or on one device, or the one named), compiled
    whether bound to an interface or not: access lists, chains and zone policies alike.
    Ordered by device and name."""
    params = {"device": device}
    sets = [r for r in await store.execute(_RULESETS, params) if not name or r["name"] == name]
    if not sets:
        return []
    rules: dict[tuple[str, str], list[Rule]] = defaultdict(list)
    for row in await store.execute(_RULES, params):
        if not name or row["ruleset"] == name:
            rules[(row["device"], row["ruleset"])].append(compile_rule(row))
    out = []
    for row in sorted(sets, key=lambda r: (r["device"], r["name"])):
        mine = rules.get((row["device"], row["name"]), [])
        if row["kind"] == "acl":
            # an access list's "zones" are the interfaces it is applied to: the list itself
            # judges any flow, wherever it is applied
            mine = [dataclasses.replace(r, src_zones=None, dst_zones=None) for r in mine]
        out.append(RuleSet(row["device"], row["name"], str(row["default_action"]), mine))
    return out


async def load_rule_set(store: GraphStore, device: str, name: str) -> RuleSet | None:
    """One named rule set of one device, compiled, bound to an interface or not."""
    found = await load_rule_sets(store, device, name)
    return found[0] if found else None


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class CompiledRuleSets:
    """Compiled rule sets kept by device and name with a digest of each row they were
    compiled from: a rule set whose rows are the same again is not compiled again, and one
    whose rows changed compiles only the rules whose rows changed (a compiled rule is a
    function of its row alone)."""

    def __init__(self) -> None:
        #: (device, name) -> (digest of the whole set, the set, its rules by row digest)
        self._sets: dict[tuple[str, str], tuple[bytes, RuleSet, dict[bytes, Rule]]] = {}
        #: rule sets built again (not reused) so far, and rules compiled
        self.compiled = 0
        self.rules_compiled = 0

    def get(
        self, device: str, name: str, default_action: str, rows: list[dict[str, Any]]
    ) -> RuleSet:
        ordered = sorted(rows, key=lambda r: int(r["position"]))
        digests = [_digest(repr(sorted(r.items()))) for r in ordered]
        whole = _digest(repr(default_action) + b"".join(sorted(digests)).hex())
        kept = self._sets.get((device, name))
        if kept is not None and kept[0] == whole:
            return kept[1]
        known = kept[2] if kept is not None else {}
        by_digest: dict[bytes, Rule] = {}
        rules = []
        for digest, row in zip(digests, ordered, strict=True):
            rule = known.get(digest)
            if rule is None:
                rule = compile_rule(row)
                self.rules_compiled += 1
            by_digest[digest] = rule
            rules.append(rule)
        rule_set = RuleSet(device, name, default_action, rules)
        self._sets[(device, name)] = (whole, rule_set, by_digest)
        self.compiled += 1
        return rule_set

    def keep_only(self, keys: set[tuple[str, str]], devices: set[str]) -> None:
        """Forget the rule sets of ``devices`` that are not among ``keys`` any more."""
        for key in [k for k in self._sets if k[0] in devices and k not in keys]:
            del self._sets[key]


def policies_from_rows(
    zone_rows: Iterable[dict[str, Any]],
    rule_set_rows: Iterable[dict[str, Any]],
    rule_rows: Iterable[dict[str, Any]],
    compiled: CompiledRuleSets | None = None,
) -> dict[str, DevicePolicy]:
    """Each device's policy from its zone, rule set and rule rows."""
    compiled = compiled or CompiledRuleSets()
    rules: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rule_rows:
        rules[(row["device"], row["ruleset"])].append(row)
    out: dict[str, DevicePolicy] = {}
    for row in zone_rows:
        policy = out.setdefault(row["device"], DevicePolicy(row["device"]))
        for name in row["interfaces"] or ():
            policy.zones[name] = row["name"]
    bindings: dict[str, list[Binding]] = defaultdict(list)
    for row in sorted(rule_set_rows, key=lambda r: (r["name"], r["device"])):
        device, name = row["device"], row["name"]
        rule_set = compiled.get(device, name, str(row["default_action"]), rules[(device, name)])
        out.setdefault(device, DevicePolicy(device))
        table, hook, family = netfilter_of(row)
        for text in row["bindings"] or ():
            direction, interface = parse_binding(text)
            bindings[device].append(Binding(rule_set, direction, interface, table, hook, family))
    for name, policy in out.items():
        policy.bindings = tuple(bindings.get(name, ()))
    return out


async def load_policies(store: GraphStore, device: str = "") -> dict[str, DevicePolicy]:
    """Every device's policy (or one device's): zones, rule sets, bindings, compiled rules."""
    params = {"device": device}
    return policies_from_rows(
        await store.execute(_ZONES, params),
        await store.execute(_RULESETS, params),
        await store.execute(_RULES, params),
    )


def _hops(row: dict[str, Any]) -> tuple[NextHop, ...]:
    addresses = list(row.get("next_hops") or ())
    interfaces = list(row.get("interfaces") or ())
    size = max(len(addresses), len(interfaces))
    addresses += [""] * (size - len(addresses))
    interfaces += [""] * (size - len(interfaces))
    return tuple(NextHop(a or None, i or None) for a, i in zip(addresses, interfaces, strict=True))


def route_entry(row: dict[str, Any]) -> RouteEntry:
    return RouteEntry(
        row["device"],
        row["prefix"],
        vrf_name(row.get("vrf")),
        str(row["protocol"]),
        _hops(row),
        str(row.get("origin") or "collected"),
    )


def forwarding_routes(routes: list[RouteEntry]) -> list[RouteEntry]:
    """The routes a device forwards with: the table it printed where one was read, else
    the one worked out from the configurations."""
    printed = [r for r in routes if r.origin != "derived"]
    return printed or routes


def routes_from_rows(rows: Iterable[dict[str, Any]]) -> dict[str, RouteTable]:
    grouped: dict[str, list[RouteEntry]] = defaultdict(list)
    for row in rows:
        grouped[row["device"]].append(route_entry(row))
    return {
        name: RouteTable(forwarding_routes(sorted(routes, key=_route_order)))
        for name, routes in grouped.items()
    }


def _route_order(r: RouteEntry) -> tuple[str, str, str, str]:
    return (r.vrf, r.prefix, r.protocol, r.origin)


async def load_routes(store: GraphStore, device: str = "") -> dict[str, RouteTable]:
    return routes_from_rows(await store.execute(_ROUTES, {"device": device}))


@dataclass
class GraphView:
    """The graph as path analysis needs it, for one version of the graph."""

    key: tuple[Any, ...]
    topology: Topology
    #: unreachable filter lines per device ("" for every device), computed once
    shadow: dict[str, Any] = field(default_factory=dict)


_CACHE: weakref.WeakKeyDictionary[GraphStore, GraphView] = weakref.WeakKeyDictionary()


async def _key(store: GraphStore) -> tuple[Any, ...]:
    rows = await store.execute(_VERSION)
    return (rows[0]["n"], rows[0]["last"]) if rows else (0, None)


def l3_interface(row: dict[str, Any]) -> L3Interface:
    return L3Interface(
        row["device"], row["interface"], row["ip"], row["network"], vrf_name(row["vrf"])
    )


def endpoint_addresses(row: dict[str, Any]) -> list[EndpointAddress]:
    return [
        EndpointAddress(ip, row["mac"], row["device"], row["interface"]) for ip in row["ips"] or ()
    ]


async def read_view(
    store: GraphStore, key: tuple[Any, ...], compiled: CompiledRuleSets | None = None
) -> GraphView:
    """The view of the graph the store holds now, read and compiled whole."""
    interfaces = [l3_interface(r) for r in await store.execute(_ADDRESSES)]
    endpoints = [e for r in await store.execute(_ENDPOINTS) for e in endpoint_addresses(r)]
    policies = policies_from_rows(
        await store.execute(_ZONES, {"device": ""}),
        await store.execute(_RULESETS, {"device": ""}),
        await store.execute(_RULES, {"device": ""}),
        compiled,
    )
    topology = Topology(interfaces, endpoints, await load_routes(store), policies)
    log.info(
        "firewall.view.built",
        interfaces=len(interfaces),
        routed_devices=len(topology.routes),
        policies=len(topology.policies),
    )
    return GraphView(key, topology)


async def view(store: GraphStore, engine: Any = None) -> GraphView:
    """The view of the current graph.

    On the writer (an engine that tells of each change's difference, ``engine.applied``) it
    is kept up to date from the changes (``_live.LiveView``): the first call after a change
    reads again and recompiles only the devices, rule sets, route tables and endpoints the
    change touched. Elsewhere it is read whole again once a snapshot has been applied.
    """
    if isinstance(getattr(engine, "applied", None), list):
        from meshq_graph_engine.firewall._live import live_view

        return await live_view(store, engine).current(engine)
    key = await _key(store)
    cached = _CACHE.get(store)
    if cached is not None and cached.key == key:
        return cached
    built = await read_view(store, key)
    _CACHE[store] = built
    return built
