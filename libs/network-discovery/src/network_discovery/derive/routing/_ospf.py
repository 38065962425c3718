"""OSPFv2 routes from configurations: adjacencies, per-area shortest paths, inter-area
summaries through area border routers, and external routes of redistribution.

- An interface runs OSPF when a ``network`` statement covers its primary address (the most
  specific statement wins) or ``ip ospf PID area A`` names it; it must be up.
- Two routers are adjacent over two such interfaces, neither passive nor a loopback, on the
  same subnet and area. A broadcast segment is a full mesh of adjacencies, each costing the
  outgoing interface's cost (the same shortest paths as through a designated router).
- Every OSPF interface advertises its subnet at its cost; a loopback advertises its address
  as a /32 (unless ``ip ospf network point-to-point``).
- Cost: ``ip ospf cost``, else the vendor's cost of a loopback or of every interface where it
  has one (:attr:`OspfProcess.loopback_cost`, :attr:`OspfProcess.default_cost`), else
  reference bandwidth (100 Mb/s unless ``auto-cost reference-bandwidth``) over the interface
  bandwidth (``bandwidth``, else the vendor's default of its type, else the IOS one), at least
  1.
- Intra-area beats inter-area beats external (E1, then E2); among equals, the lowest cost,
  and every equal-cost first hop is kept (ECMP).
- Inter-area routes come from area border routers attached to the backbone: into the
  backbone, the intra-area routes of their other areas; into a non-backbone area, their
  intra-area routes of other areas and what they learnt over the backbone. An area range
  of the border router replaces the intra-area routes of its area inside it by one summary
  (the largest of their costs, or the range's cost; none with ``not-advertise``), and the
  border router holds a discard route for it.
- External routes (``redistribute connected|static|bgp [subnets] [metric] [metric-type]
  [route-map]``, ``default-information originate``): type 2 compares the external metric,
  then the cost to the redistributing router; type 1 adds the two. BGP routes are the ones
  a first pass of BGP installed (given by the caller); routes learnt over iBGP and aggregates
  only where the configuration lets them (:attr:`BgpConfig.redistribute_internal`).
"""

from __future__ import annotations

import heapq
import ipaddress
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from network_discovery.derive.routing._config import BgpRoute, OspfProcess, OspfRange
from network_discovery.derive.routing._rib import Hop, RibRoute, RouterView

__all__ = ["ospf_routes"]

IPv4Net = ipaddress.IPv4Network
INF = 1 << 60

#: IOS default bandwidth (kb/s) by interface type, longest name first.
_BANDWIDTH = (
    ("hundredgig", 100_000_000),
    ("fortygig", 40_000_000),
    ("twentyfivegig", 25_000_000),
    ("tengig", 10_000_000),
    ("gigabitethernet", 1_000_000),
    ("fastethernet", 100_000),
    ("ethernet", 10_000),
    ("serial", 1_544),
    ("loopback", 8_000_000),
    ("tunnel", 100),
    ("port-channel", 1_000_000),
    ("vlan", 1_000_000),
)


@dataclass(frozen=True)
class _OspfIface:
    router: str
    name: str
    address: ipaddress.IPv4Interface
    area: int
    cost: int
    passive: bool
    loopback: bool
    p2p: bool

    @property
    def advertised(self) -> IPv4Net:
        if self.loopback and not self.p2p:
            return ipaddress.IPv4Network(f"{self.address.ip}/32")
        return self.address.network


def _process(view: RouterView) -> OspfProcess | None:
    live = [p for p in view.config.ospf if not p.shutdown]
    if len(live) > 1:
        note = "several OSPF processes: only the first is computed"
        if note not in view.config.notes:
            view.config.notes.append(note)
    return live[0] if live else None


def _cost(view: RouterView, process: OspfProcess, name: str, loopback: bool) -> int:
    settings = view.config.interfaces.get(name)
    if settings is not None and settings.cost is not None:
        return settings.cost
    if loopback and process.loopback_cost is not None:
        return process.loopback_cost
    if process.default_cost is not None:
        return process.default_cost
    bandwidth = settings.bandwidth_kbps if settings is not None else None
    if bandwidth is None:
        lowered = name.lower()
        table = (*view.config.bandwidth_defaults, *_BANDWIDTH)
        bandwidth = next((bw for kind, bw in table if lowered.startswith(kind)), 1_000_000)
    return max(1, process.reference_bandwidth_mbps * 1000 // max(1, bandwidth))


def _interfaces(view: RouterView, process: OspfProcess) -> list[_OspfIface]:
    out: list[_OspfIface] = []
    networks = sorted(process.networks, key=lambda n: -n.specificity)
    for iface in view.interfaces.values():
        primary = iface.primary
        if not iface.up or primary is None:
            continue
        settings = view.config.interfaces.get(iface.name)
        area: int | None = None
        if settings is not None and settings.ospf_area and settings.ospf_area[0] == process.pid:
            area = settings.ospf_area[1]
        else:
            area = next((n.area for n in networks if n.covers(primary.ip)), None)
        if area is None:
            continue
        p2p = bool(settings and settings.point_to_point)
        cost = _cost(view, process, iface.name, iface.loopback)
        passive = process.is_passive(iface.name)
        for address in iface.addresses:
            covered = address == primary or any(n.covers(address.ip) for n in networks)
            if covered:
                out.append(
                    _OspfIface(
                        view.name, iface.name, address, area, cost, passive, iface.loopback, p2p
                    )
                )
    return out


def _spf(
    source: str, edges: dict[str, list[tuple[str, int, Hop]]]
) -> tuple[dict[str, int], dict[str, frozenset[Hop]]]:
    """Dijkstra from ``source``: the cost to every router and every first hop of the
    shortest paths to it."""
    dist: dict[str, int] = {source: 0}
    first: dict[str, frozenset[Hop]] = {source: frozenset()}
    done: set[str] = set()
    heap: list[tuple[int, str]] = [(0, source)]
    while heap:
        cost, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        for peer, weight, hop in edges.get(node, ()):
            total = cost + weight
            hops = frozenset({hop}) if node == source else first[node]
            known = dist.get(peer, INF)
            if total < known:
                dist[peer] = total
                first[peer] = hops
                heapq.heappush(heap, (total, peer))
            elif total == known and peer not in done:
                first[peer] = first[peer] | hops
    return dist, first


@dataclass
class _Area:
    ifaces: list[_OspfIface]
    edges: dict[str, list[tuple[str, int, Hop]]]
    stubs: dict[str, dict[IPv4Net, int]]


def _areas(ifaces: list[_OspfIface]) -> dict[int, _Area]:
    by_area: dict[int, list[_OspfIface]] = defaultdict(list)
    for iface in ifaces:
        by_area[iface.area].append(iface)
    areas: dict[int, _Area] = {}
    for area, members in by_area.items():
        edges: dict[str, list[tuple[str, int, Hop]]] = defaultdict(list)
        stubs: dict[str, dict[IPv4Net, int]] = defaultdict(dict)
        segments: dict[IPv4Net, list[_OspfIface]] = defaultdict(list)
        for iface in members:
            prefix = iface.advertised
            known = stubs[iface.router].get(prefix, INF)
            stubs[iface.router][prefix] = min(known, iface.cost)
            if not iface.passive and not iface.loopback and iface.address.network.prefixlen < 32:
                segments[iface.address.network].append(iface)
        for segment in segments.values():
            for a in segment:
                for b in segment:
                    if a.router != b.router:
                        edges[a.router].append((b.router, a.cost, (b.address.ip, a.name)))
        areas[area] = _Area(members, edges, stubs)
    return areas


def _merge(
    table: dict[IPv4Net, tuple[int, frozenset[Hop]]],
    prefix: IPv4Net,
    cost: int,
    hops: frozenset[Hop],
) -> None:
    known = table.get(prefix)
    if known is None or cost < known[0]:
        table[prefix] = (cost, hops)
    elif cost == known[0]:
        table[prefix] = (cost, known[1] | hops)


def _candidates(
    view: RouterView, source: str, other: Sequence[RibRoute]
) -> list[tuple[RibRoute, BgpRoute]] | None:
    """The routes ``redistribute SOURCE`` may take, each with the route the route map sees;
    None for a source that is not computed."""
    if source == "connected":
        routes = view.connected()
    elif source == "static":
        routes = list(view.static)
    elif source in ("bgp", "aggregate"):
        bgp = view.config.bgp
        internal = bgp is not None and bgp.redistribute_internal
        routes = []
        for r in other:
            if source == "aggregate":
                if r.protocol == "aggregate" and r.kind != "bgp":
                    routes.append(r)
            elif r.protocol == "bgp" and (r.kind == "ebgp" or internal):
                routes.append(r)
            elif r.protocol == "aggregate" and r.kind == "bgp" and internal:
                routes.append(r)
    else:
        return None
    out: list[tuple[RibRoute, BgpRoute]] = []
    for r in routes:
        kind: Literal["local", "ebgp", "ibgp"] = (
            "ebgp" if r.kind == "ebgp" else "ibgp" if r.kind == "ibgp" else "local"
        )
        protocol = "aggregate" if r.protocol == "aggregate" else source
        interface = r.hops[0][1] if source == "connected" and r.hops else None
        probe = BgpRoute(
            r.prefix, None, med=-1, source=kind, protocol=protocol, interface=interface
        )
        out.append((r, probe))
    return out


def _externals(
    view: RouterView,
    process: OspfProcess,
    ospf_prefixes: set[IPv4Net],
    other: Sequence[RibRoute] = (),
) -> dict[IPv4Net, tuple[int, int]]:
    """What a router redistributes: prefix -> (metric type, metric). ``other``: its BGP
    routes and generated routes in use, for ``redistribute bgp`` and Junos ``from protocol
    aggregate``."""
    out: dict[IPv4Net, tuple[int, int]] = {}
    for redist in process.redistribute:
        candidates = _candidates(view, redist.source, other)
        if candidates is None:
            note = f"OSPF redistribute {redist.source} is not computed"
            if note not in view.config.notes:
                view.config.notes.append(note)
            continue
        default_metric = redist.metric
        if default_metric is None:
            default_metric = process.redistribute_metric.get(redist.source)
        for route, probe in candidates:
            prefix = route.prefix
            if prefix in ospf_prefixes:
                continue  # an OSPF interface's subnet is advertised as internal, not external
            if not redist.subnets and prefix.prefixlen != _classful_length(prefix):
                continue
            metric = default_metric if default_metric is not None else route.metric
            if redist.route_map is not None:
                result = view.config.apply_route_map(redist.route_map, probe)
                if result is None:
                    continue
                metric = result.med if result.med >= 0 else metric
            out[prefix] = (redist.metric_type, metric)
    if process.default_originate is not None:
        always, metric, metric_type = process.default_originate
        default = ipaddress.IPv4Network("0.0.0.0/0")
        if always or any(r.prefix == default for r in view.static):
            out[default] = (metric_type, metric)
    return out


def _classful_length(prefix: IPv4Net) -> int:
    first = int(prefix.network_address) >> 24
    return 8 if first < 128 else 16 if first < 192 else 24


def ospf_routes(
    views: dict[str, RouterView], other: Mapping[str, Sequence[RibRoute]] | None = None
) -> dict[str, list[RibRoute]]:
    """The OSPF routes of every router that runs OSPF (default VRF). ``other``: per router,
    its BGP and generated routes in use, which ``redistribute bgp`` (and a Junos export of
    aggregates) may make external routes."""
    other = other or {}
    processes = {name: p for name, v in views.items() if (p := _process(v)) is not None}
    ifaces = [i for name, p in processes.items() for i in _interfaces(views[name], p)]
    areas = _areas(ifaces)
    router_areas: dict[str, set[int]] = defaultdict(set)
    for iface in ifaces:
        router_areas[iface.router].add(iface.area)
    abrs = {r for r, a in router_areas.items() if 0 in a and len(a) > 1}

    # per area, per router: shortest paths and the reach of every advertised prefix
    spf: dict[tuple[int, str], tuple[dict[str, int], dict[str, frozenset[Hop]]]] = {}
    reach: dict[tuple[int, str], dict[IPv4Net, tuple[int, frozenset[Hop]]]] = {}
    for area_id, area in areas.items():
        routers = {i.router for i in area.ifaces}
        for router in routers:
            dist, first = _spf(router, area.edges)
            spf[(area_id, router)] = (dist, first)
            table: dict[IPv4Net, tuple[int, frozenset[Hop]]] = {}
            for advertiser, cost_to in dist.items():
                for prefix, stub_cost in area.stubs.get(advertiser, {}).items():
                    _merge(table, prefix, cost_to + stub_cost, first[advertiser])
            reach[(area_id, router)] = table

    def ranged(abr: str, area_id: int) -> tuple[dict[IPv4Net, int], dict[OspfRange, int]]:
        """An area border router's intra-area routes of an area that no range covers, and
        the ranges that cover some, with the largest cost among those."""
        ranges = [r for r in processes[abr].ranges if r.area == area_id]
        free: dict[IPv4Net, int] = {}
        active: dict[OspfRange, int] = {}
        for prefix, (cost, _) in reach[(area_id, abr)].items():
            covering = [r for r in ranges if prefix.subnet_of(r.prefix)]
            if not covering:
                free[prefix] = cost
                continue
            found = max(covering, key=lambda r: r.prefix.prefixlen)
            active[found] = max(active.get(found, 0), cost)
        return free, active

    def summaries(abr: str, into: int, backbone_inter: dict[str, dict]) -> dict[IPv4Net, int]:
        out: dict[IPv4Net, int] = {}
        for area_id in router_areas[abr]:
            if area_id == into:
                continue
            free, active = ranged(abr, area_id)
            for prefix, cost in free.items():
                out[prefix] = min(out.get(prefix, INF), cost)
            for found, cost in active.items():
                if found.advertise:
                    cost = found.cost if found.cost is not None else cost
                    out[found.prefix] = min(out.get(found.prefix, INF), cost)
        if into != 0:
            for prefix, (cost, _) in backbone_inter.get(abr, {}).items():
                out[prefix] = min(out.get(prefix, INF), cost)
        return out

    def inter_area(
        router: str, area_id: int, backbone_inter: dict[str, dict]
    ) -> dict[IPv4Net, tuple[int, frozenset[Hop]]]:
        table: dict[IPv4Net, tuple[int, frozenset[Hop]]] = {}
        if router in abrs and area_id != 0:
            return table  # an area border router takes summaries from the backbone only
        dist, first = spf[(area_id, router)]
        for abr in abrs & set(dist):
            if abr == router:
                continue
            for prefix, cost in summaries(abr, area_id, backbone_inter).items():
                _merge(table, prefix, dist[abr] + cost, first[abr])
        return table

    backbone_inter: dict[str, dict] = {}
    if 0 in areas:
        for router in {i.router for i in areas[0].ifaces}:
            backbone_inter[router] = inter_area(router, 0, {})

    # every router's internal view: intra-area first, then inter-area
    internal: dict[str, dict[IPv4Net, tuple[int, frozenset[Hop], str]]] = {}
    for router, member_of in router_areas.items():
        view_table: dict[IPv4Net, tuple[int, frozenset[Hop], str]] = {}
        intra: dict[IPv4Net, tuple[int, frozenset[Hop]]] = {}
        for area_id in member_of:
            for prefix, (cost, hops) in reach[(area_id, router)].items():
                _merge(intra, prefix, cost, hops)
        for prefix, (cost, hops) in intra.items():
            view_table[prefix] = (cost, hops, "")
        inter: dict[IPv4Net, tuple[int, frozenset[Hop]]] = {}
        for area_id in member_of:
            source = backbone_inter.get(router, {}) if area_id == 0 else None
            found = source if source is not None else inter_area(router, area_id, backbone_inter)
            for prefix, (cost, hops) in found.items():
                _merge(inter, prefix, cost, hops)
        for prefix, (cost, hops) in inter.items():
            if prefix not in view_table:
                view_table[prefix] = (cost, hops, "IA")
        internal[router] = view_table

    def router_cost(router: str, target: str) -> tuple[int, frozenset[Hop]] | None:
        """The cost and first hops from ``router`` to ``target`` (an ASBR)."""
        best: tuple[int, frozenset[Hop]] | None = None
        for area_id in router_areas[router]:
            dist, first = spf[(area_id, router)]
            if target in dist:
                candidate = (dist[target], first[target])
            else:  # through an area border router of this area
                options = []
                for abr in abrs & set(dist):
                    for other in router_areas[abr] - {area_id}:
                        far = spf.get((other, abr))
                        if far and target in far[0]:
                            options.append((dist[abr] + far[0][target], first[abr]))
                if not options:
                    continue
                low = min(o[0] for o in options)
                candidate = (low, frozenset().union(*(o[1] for o in options if o[0] == low)))
            if best is None or candidate[0] < best[0]:
                best = candidate
            elif candidate[0] == best[0]:
                best = (best[0], best[1] | candidate[1])
        return best

    own_prefixes: dict[str, set[IPv4Net]] = defaultdict(set)
    for iface in ifaces:
        own_prefixes[iface.router].add(iface.address.network)
        own_prefixes[iface.router].add(iface.advertised)
    externals = {
        r: _externals(views[r], processes[r], own_prefixes[r], other.get(r, ()))
        for r in processes
        if r in router_areas
    }

    result: dict[str, list[RibRoute]] = {}
    for router, own in internal.items():
        distance = processes[router].distance
        connected = {r.prefix for r in views[router].connected()}
        routes: list[RibRoute] = []
        for prefix, (cost, hops, kind) in own.items():
            if prefix in connected or not hops:
                continue
            routes.append(
                RibRoute(prefix, "ospf", distance, cost, tuple(sorted(hops, key=str)), kind)
            )
        if router in abrs:  # the discard routes of its active ranges
            held = {r.prefix for r in routes} | connected
            for area_id in router_areas[router]:
                for area_range, cost in ranged(router, area_id)[1].items():
                    if area_range.discard and area_range.prefix not in held:
                        metric = area_range.discard_metric
                        if metric is None:
                            metric = area_range.cost if area_range.cost is not None else cost
                        held.add(area_range.prefix)
                        routes.append(
                            RibRoute(area_range.prefix, "ospf", distance, metric, (), "summary")
                        )
        chosen: dict[IPv4Net, tuple[tuple[int, int, int], frozenset[Hop]]] = {}
        for asbr, prefixes in externals.items():
            if asbr == router:
                continue
            path = router_cost(router, asbr)
            if path is None:
                continue
            forward, hops = path
            for prefix, (metric_type, metric) in prefixes.items():
                if prefix in own or prefix in connected:
                    continue
                rank = (1, metric + forward, 0) if metric_type == 1 else (2, metric, forward)
                known = chosen.get(prefix)
                if known is None or rank < known[0]:
                    chosen[prefix] = (rank, hops)
                elif rank == known[0]:
                    chosen[prefix] = (rank, known[1] | hops)
        external = processes[router].distance_external or distance
        for prefix, (rank, hops) in chosen.items():
            metric = rank[1]
            kind = f"E{rank[0]}"
            routes.append(
                RibRoute(prefix, "ospf", external, metric, tuple(sorted(hops, key=str)), kind)
            )
        result[router] = routes
    return result
