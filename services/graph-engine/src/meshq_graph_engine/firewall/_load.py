"""From graph rows to compiled policies, routing tables and the layer-3 view.

Everything is read from the graph store with fixed Cypher (no user text). On the writer the
view is kept up to date from each change (``_live``); elsewhere it is kept per store while the
graph does not change: the cache key is the set of applied snapshots (their count and the
newest ``applied_at``), read before the data so a cached view is never older than its key.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.firewall._columns import endpoint_table, read_table, rule_groups
from meshq_graph_engine.firewall._compiled import (
    CompiledRuleSets,
    compile_nat,
    compile_rule,
    compile_service,
    no_collection,
)
from meshq_graph_engine.firewall.policy import Rule, RuleSet
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
    "LineCache",
    "compile_nat",
    "compile_rule",
    "compile_service",
    "line_cache",
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


RowSource = Callable[[], list[dict[str, Any]]]


def _no_rows() -> list[dict[str, Any]]:
    return []


def policies_from_rows(
    zone_rows: Iterable[dict[str, Any]],
    rule_set_rows: Iterable[dict[str, Any]],
    rule_rows: Iterable[dict[str, Any]],
    compiled: CompiledRuleSets | None = None,
    *,
    lazy: Mapping[tuple[str, str], RowSource] | None = None,
) -> dict[str, DevicePolicy]:
    """Each device's policy from its zone, rule set and rule rows; with ``lazy`` (each rule
    set's rows, by device and name, instead of ``rule_rows``), rule sets are compiled on
    first use."""
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
        action = str(row["default_action"])
        if lazy is not None:
            rule_set = compiled.lazy(device, name, action, lazy.get((device, name), _no_rows))
        else:
            rule_set = compiled.get(device, name, action, rules[(device, name)])
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


@dataclass
class LineCache:
    """Unreachable filter lines by device ("" for every device) at one version of the graph
    (``key``): worked out once each, without the rest of the view."""

    key: tuple[Any, ...]
    found: dict[str, Any] = field(default_factory=dict)


_CACHE: weakref.WeakKeyDictionary[GraphStore, GraphView] = weakref.WeakKeyDictionary()
_LINES: weakref.WeakKeyDictionary[GraphStore, LineCache] = weakref.WeakKeyDictionary()


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


async def _dicts(store: GraphStore, cypher: str, params: dict[str, Any] | None = None) -> Any:
    """A read's rows as dictionaries, through one Arrow table where the store gives one."""
    table = await read_table(store, cypher, params)
    return table.to_pylist() if table is not None else await store.execute(cypher, params)


async def read_view(
    store: GraphStore, key: tuple[Any, ...], compiled: CompiledRuleSets | None = None
) -> GraphView:
    """The view of the graph the store holds now, read whole: a few reads, as columns where
    the store gives them; endpoints kept as columns, rule sets compiled on first use."""
    everywhere = {"device": ""}
    addresses = await _dicts(store, _ADDRESSES)
    endpoints = await endpoint_table(store, _ENDPOINTS)
    lazy = await rule_groups(store, _RULES, everywhere)
    zones = await _dicts(store, _ZONES, everywhere)
    rule_sets = await _dicts(store, _RULESETS, everywhere)
    routes = await _dicts(store, _ROUTES, everywhere)
    with no_collection():
        interfaces = [l3_interface(r) for r in addresses]
        policies = policies_from_rows(zones, rule_sets, (), compiled, lazy=lazy)
        tables = routes_from_rows(routes)
        topology = Topology(interfaces, (), tables, policies, endpoint_table=endpoints)
    log.info(
        "firewall.view.built",
        interfaces=len(interfaces),
        endpoints=len(endpoints.macs),
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


async def line_cache(store: GraphStore, engine: Any = None) -> LineCache:
    """Where the unreachable filter lines of the current graph are kept: on the writer, kept
    from change to change for the devices whose policy a change did not touch
    (``_live.LiveView.lines``); elsewhere, until a snapshot is applied."""
    if isinstance(getattr(engine, "applied", None), list):
        from meshq_graph_engine.firewall._live import live_view

        return live_view(store, engine).lines(engine)
    key = await _key(store)
    cached = _LINES.get(store)
    if cached is None or cached.key != key:
        cached = _LINES[store] = LineCache(key)
    return cached
