"""BGP routes from configurations: sessions, origination, policy, propagation and best
path, iterated until no router learns anything new.

- A session is up when both ends configure each other (the address each end sources from,
  the AS each expects), each end reaches the other's address over routes that are not BGP,
  and an eBGP peer without ``ebgp-multihop`` is on a connected subnet. The source address is
  the configured one (Junos ``local-address``), the ``update-source`` interface's, else that
  of the interface towards the peer.
- Origination: ``network`` statements whose exact prefix is in the table (MED from its
  metric), ``redistribute connected|static|ospf`` (origin incomplete), ``aggregate-address``
  once a more specific BGP route exists (any route of the table where
  :attr:`BgpConfig.aggregate_from_rib`; ``summary-only`` stops the more specific ones from
  being sent; the aggregate is a discard route locally). With
  :attr:`BgpConfig.export_rib` (Junos), every route in use in the table is offered to each
  neighbour's export policy instead, which decides.
- Propagation: eBGP prepends the AS, sets the next hop to the session address, drops local
  preference and a MED that was not set here; iBGP keeps the next hop (unless
  ``next-hop-self``) and does not pass routes learnt over iBGP on, except through a route
  reflector (from a client to everyone, from a non-client to clients; originator id and
  cluster list stop loops). Communities travel only with ``send-community``; a route with
  ``no-advertise`` goes to no peer, one with ``no-export`` to no eBGP peer. Inbound and
  outbound prefix lists and route maps apply; AS-path loops are dropped (``allowas-in``
  lets the local AS appear that many times). A route whose AS path starts with an eBGP
  peer's AS is not sent to it where :attr:`BgpNeighbor.peer_as_check`; a best path that
  is not the route in use is not sent where not :attr:`BgpConfig.advertise_inactive`.
- Best path, in order: (the route preference first where
  :attr:`BgpConfig.preference_first`, Junos), weight, local preference, locally originated,
  AS-path length, origin, MED (between paths from the same neighbouring AS), eBGP over iBGP,
  IGP metric to the next hop, router id, cluster-list length, peer address.
  ``maximum-paths`` (eBGP) and ``maximum-paths ibgp`` keep equal paths (same AS path unless
  ``multipath-relax``).
- A path whose next hop is not reachable over a route that is not BGP is not used.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from network_discovery.derive.routing._config import (
    ORIGIN_IGP,
    ORIGIN_INCOMPLETE,
    WELL_KNOWN,
    BgpConfig,
    BgpNeighbor,
    BgpRoute,
)
from network_discovery.derive.routing._rib import Rib, RibRoute, RouterView

__all__ = ["bgp_routes"]

IPv4 = ipaddress.IPv4Address
IPv4Net = ipaddress.IPv4Network
#: Rounds of propagation before giving up on a network that does not settle.
MAX_ROUNDS = 64
LOCAL_WEIGHT = 32768


@dataclass(frozen=True)
class _Session:
    local: str
    peer: str
    local_address: IPv4
    peer_address: IPv4
    ebgp: bool
    #: The local router's settings for this neighbour, and the peer's for the local one.
    config: BgpNeighbor
    peer_config: BgpNeighbor


def router_id(view: RouterView) -> IPv4:
    bgp = view.config.bgp
    if bgp is not None and bgp.router_id is not None:
        return bgp.router_id
    for process in view.config.ospf:
        if process.router_id is not None:
            return process.router_id
    loopbacks = [a.ip for i in view.interfaces.values() if i.up and i.loopback for a in i.addresses]
    others = [a.ip for i in view.interfaces.values() if i.up for a in i.addresses]
    return max(loopbacks or others or [IPv4(0)])


def _source_address(view: RouterView, neighbor: BgpNeighbor, rib: Rib) -> IPv4 | None:
    if neighbor.update_source_address is not None:
        return neighbor.update_source_address if view.owns(neighbor.update_source_address) else None
    if neighbor.update_source is not None:
        iface = view.interfaces.get(neighbor.update_source)
        if iface is None or not iface.up or iface.primary is None:
            return None
        return iface.primary.ip
    for iface in view.interfaces.values():
        if iface.up:
            for address in iface.addresses:
                if neighbor.address in address.network:
                    return address.ip
    route = rib.lookup(neighbor.address)
    if route is None or not route.hops:
        return None
    out = route.hops[0][1]
    if out is None and route.hops[0][0] is not None:
        inner = rib.lookup(route.hops[0][0])
        out = inner.hops[0][1] if inner is not None and inner.hops else None
    iface = view.interfaces.get(out) if out else None
    return iface.primary.ip if iface is not None and iface.primary is not None else None


def _connected_to(view: RouterView, address: IPv4) -> bool:
    return any(address in a.network for i in view.interfaces.values() if i.up for a in i.addresses)


def _sessions(views: dict[str, RouterView], ribs: dict[str, Rib]) -> list[_Session]:
    owners: dict[IPv4, list[str]] = defaultdict(list)
    for view in views.values():
        for iface in view.interfaces.values():
            if iface.up:
                for address in iface.addresses:
                    owners[address.ip].append(view.name)
    sessions: list[_Session] = []
    for name, view in views.items():
        bgp = view.config.bgp
        if bgp is None:
            continue
        for neighbor in bgp.neighbors.values():
            if not neighbor.active or neighbor.shutdown or neighbor.remote_as is None:
                continue
            local_address = _source_address(view, neighbor, ribs[name])
            if local_address is None:
                continue
            for peer_name in owners.get(neighbor.address, ()):
                found = _session(views, ribs, view, bgp, neighbor, local_address, peer_name)
                if found is not None:
                    sessions.append(found)
                    break
            else:
                if not owners.get(neighbor.address):
                    _note(view, f"BGP neighbour {neighbor.address}: no device here has it")
    return sessions


def _session(
    views: dict[str, RouterView],
    ribs: dict[str, Rib],
    view: RouterView,
    bgp: BgpConfig,
    neighbor: BgpNeighbor,
    local_address: IPv4,
    peer_name: str,
) -> _Session | None:
    if peer_name == view.name:
        return None
    peer = views[peer_name]
    peer_bgp = peer.config.bgp
    if peer_bgp is None:
        return None
    back = peer_bgp.neighbors.get(local_address)
    if back is None or not back.active or back.shutdown:
        return None
    local_as = neighbor.local_as or bgp.asn
    peer_as = back.local_as or peer_bgp.asn
    if back.remote_as != local_as or neighbor.remote_as != peer_as:
        return None
    if _source_address(peer, back, ribs[peer_name]) != neighbor.address:
        return None
    ebgp = local_as != peer_as
    if ebgp and not (neighbor.ebgp_multihop and back.ebgp_multihop):
        if not _connected_to(view, neighbor.address):
            return None
    if ribs[view.name].lookup(neighbor.address) is None:
        return None
    if ribs[peer_name].lookup(local_address) is None:
        return None
    return _Session(view.name, peer_name, local_address, neighbor.address, ebgp, neighbor, back)


_NO_ADVERTISE = frozenset({"no-advertise", WELL_KNOWN["no-advertise"]})
_NO_EXPORT = frozenset(
    {"no-export", "no-export-subconfed", "local-as", WELL_KNOWN["no-export"], "65535:65283"}
)


def _withheld(route: BgpRoute, session: _Session) -> bool:
    """Well-known communities: ``no-advertise`` to no peer, ``no-export`` (and
    ``no-export-subconfed``, there being no confederation here) to no eBGP peer."""
    if not route.communities:
        return False
    if route.communities & _NO_ADVERTISE:
        return True
    return session.ebgp and bool(route.communities & _NO_EXPORT)


def _note(view: RouterView, text: str) -> None:
    if text not in view.config.notes:
        view.config.notes.append(text)


class _Speaker:
    """One router's BGP state."""

    def __init__(self, view: RouterView, rib: Rib) -> None:
        assert view.config.bgp is not None
        self.view = view
        self.bgp: BgpConfig = view.config.bgp
        self.rib = rib
        self.router_id = int(router_id(view))
        self.cluster_id = int(self.bgp.cluster_id) if self.bgp.cluster_id else self.router_id
        self.own = {a.ip for i in view.interfaces.values() if i.up for a in i.addresses}
        self.originated = self._originate()
        #: peer address -> prefix -> the paths as received (after inbound policy); one per
        #: prefix unless the peer sends additional paths
        self.adj_in: dict[IPv4, dict[IPv4Net, tuple[BgpRoute, ...]]] = {}
        self.best: dict[IPv4Net, list[BgpRoute]] = {}
        #: prefix -> every usable path, best first (what add-path sends)
        self.paths: dict[IPv4Net, list[BgpRoute]] = {}
        self.suppressed: set[IPv4Net] = set()

    def _local(self, installed: RibRoute, **fields: Any) -> BgpRoute:
        connected = installed.protocol == "connected" and installed.hops
        return BgpRoute(
            installed.prefix,
            None,
            weight=self.bgp.local_weight,
            med=installed.metric,
            protocol=installed.protocol,
            interface=installed.hops[0][1] if connected else None,
            **fields,
        )

    def _originate(self) -> list[BgpRoute]:
        out: list[BgpRoute] = []
        config = self.view.config
        if self.bgp.export_rib:
            # every route in use is a candidate; the export policies decide what is sent
            return [self._local(r) for r in self.rib.routes() if r.protocol != "bgp"]
        for prefix, route_map in self.bgp.networks:
            installed = self.rib.get(prefix)
            if installed is None:
                continue
            route = BgpRoute(prefix, None, weight=self.bgp.local_weight, med=installed.metric)
            mapped = config.apply_route_map(route_map, route)
            if mapped is not None:
                out.append(mapped)
        for redist in self.bgp.redistribute:
            if redist.source not in ("connected", "static", "ospf"):
                _note(self.view, f"BGP redistribute {redist.source} is not computed")
                continue
            for installed in self.rib.routes():
                if installed.protocol != redist.source:
                    continue
                route = self._local(installed, origin=ORIGIN_INCOMPLETE)
                if redist.metric is not None:
                    route = replace(route, med=redist.metric)
                mapped = config.apply_route_map(redist.route_map, route)
                if mapped is not None:
                    out.append(mapped)
        return out

    # --- selection ---------------------------------------------------------------

    def _usable(self, route: BgpRoute) -> BgpRoute | None:
        if route.next_hop is None:
            return route
        if route.next_hop in self.own:
            return None
        via = self.rib.lookup(route.next_hop)
        if via is None:
            return None
        return replace(route, igp_metric=via.metric)

    def _distance(self, r: BgpRoute) -> int:
        """The route's distance in the table: a preference a policy set, else its kind's."""
        if r.preference is not None:
            return r.preference
        if r.source == "local":
            return self.bgp.distance_local
        return self.bgp.distance_ebgp if r.source == "ebgp" else self.bgp.distance_ibgp

    def _rank_without_med(self, r: BgpRoute) -> tuple[int, ...]:
        return (
            self._distance(r) if self.bgp.preference_first else 0,
            -r.weight,
            -r.local_pref,
            0 if r.source == "local" else 1,
            len(r.as_path),
            r.origin,
        )

    def _tail(self, r: BgpRoute) -> tuple[int, ...]:
        return (
            0 if r.source in ("local", "ebgp") else 1,
            r.igp_metric,
            r.originator_id or r.peer_router_id,
            len(r.cluster_list),
            int(r.peer) if r.peer else 0,
        )

    def _rank(self, r: BgpRoute) -> tuple[int, ...]:
        return (*self._rank_without_med(r), r.med, *self._tail(r))

    def select(self, candidates: list[BgpRoute]) -> list[BgpRoute]:
        usable = [u for c in candidates if (u := self._usable(c)) is not None]
        if not usable:
            return []
        if self.bgp.always_compare_med:
            best = min(usable, key=self._rank)
        else:  # MED only between paths from the same neighbouring AS (deterministic MED)
            groups: dict[int, list[BgpRoute]] = defaultdict(list)
            for r in usable:
                groups[r.as_path[0] if r.as_path else -1].append(r)
            winners = [min(g, key=self._rank) for g in groups.values()]
            best = min(winners, key=lambda r: (*self._rank_without_med(r), *self._tail(r)))
        if best.source == "local":
            return [best]
        limit = (
            self.bgp.maximum_paths_ebgp if best.source == "ebgp" else self.bgp.maximum_paths_ibgp
        )
        if limit <= 1:
            return [best]
        equal = [
            r
            for r in usable
            if r.source == best.source
            and self._rank_without_med(r) == self._rank_without_med(best)
            and r.med == best.med
            and r.igp_metric == best.igp_metric
            and (r.as_path == best.as_path or self.bgp.multipath_relax)
        ]
        equal.sort(key=self._rank)
        paths: list[BgpRoute] = []
        for r in equal:
            if all(p.next_hop != r.next_hop for p in paths):
                paths.append(r)
        return paths[:limit] or [best]

    def decide(self) -> None:
        candidates: dict[IPv4Net, list[BgpRoute]] = defaultdict(list)
        for route in self.originated:
            candidates[route.prefix].append(route)
        for received in self.adj_in.values():
            for prefix, routes in received.items():
                candidates[prefix].extend(routes)
        best = {p: s for p, c in candidates.items() if (s := self.select(c))}
        self.paths = {
            p: sorted((u for r in c if (u := self._usable(r)) is not None), key=self._rank)
            for p, c in candidates.items()
        }
        self.suppressed = set()
        for prefix, summary_only, _as_set in self.bgp.aggregates:
            inside = [p for p in best if p != prefix and p.subnet_of(prefix)]
            if not inside and self.bgp.aggregate_from_rib:
                table = (r.prefix for r in self.rib.routes())
                inside = [p for p in table if p != prefix and p.subnet_of(prefix)]
            if not inside:
                continue
            aggregate = BgpRoute(prefix, None, weight=LOCAL_WEIGHT, aggregate=True)
            chosen = self.select([*candidates.get(prefix, []), aggregate])
            if chosen:
                best[prefix] = chosen
            if summary_only:
                self.suppressed.update(inside)
        self.best = best

    # --- propagation -------------------------------------------------------------

    def _add_path(self, session: _Session, receiver: _Speaker) -> bool:
        return (
            self.bgp.add_path_send
            and session.config.advertise_all_paths
            and receiver.bgp.add_path_receive
        )

    def _inactive(self, best: BgpRoute) -> bool:
        """Whether a route of a lower distance than this best path's wins in the table."""
        if best.source == "local" and not best.aggregate:
            return False  # originated from the table's own route
        known = self.rib.get(best.prefix)
        return known is not None and known.distance <= self._distance(best)

    def export(self, session: _Session, receiver: _Speaker) -> dict[IPv4Net, tuple[BgpRoute, ...]]:
        out: dict[IPv4Net, tuple[BgpRoute, ...]] = {}
        config = self.view.config
        every = self._add_path(session, receiver)
        peer_as = session.peer_config.local_as or receiver.bgp.asn
        for prefix, paths in self.best.items():
            if prefix in self.suppressed:
                continue
            if not self.bgp.advertise_inactive and self._inactive(paths[0]):
                continue
            routes = (
                self.paths.get(prefix, paths) if every and not paths[0].aggregate else paths[:1]
            )
            sent_paths: list[BgpRoute] = []
            for route in routes:
                if route.peer == session.peer_address or _withheld(route, session):
                    continue
                if (
                    session.ebgp
                    and session.config.peer_as_check
                    and route.as_path[:1] == (peer_as,)
                ):
                    continue
                sent = self._outgoing(session, route)
                if sent is None:
                    continue
                if session.config.prefix_list_out and not config.prefix_allowed(
                    "prefix-list", session.config.prefix_list_out, prefix
                ):
                    continue
                mapped = config.apply_route_map(
                    session.config.route_map_out, sent, session.local_address
                )
                if mapped is None:
                    continue
                received = receiver.receive(session, mapped)
                if received is not None and received not in sent_paths:
                    sent_paths.append(received)
            if sent_paths:
                out[prefix] = tuple(sent_paths)
        return out

    def _outgoing(self, session: _Session, route: BgpRoute) -> BgpRoute | None:
        communities = route.communities if session.config.send_community else frozenset()
        if not session.ebgp:
            originator, clusters = route.originator_id, route.cluster_list
            if route.source == "ibgp":
                client = session.config.route_reflector_client
                if not (client or route.from_client):
                    return None
                originator = route.originator_id or route.peer_router_id
                clusters = (self.cluster_id, *route.cluster_list)
            next_hop = route.next_hop
            if next_hop is None or (session.config.next_hop_self and route.source == "ebgp"):
                next_hop = session.local_address
            return replace(
                route,
                next_hop=next_hop,
                communities=communities,
                weight=0,
                originator_id=originator,
                cluster_list=clusters,
            )
        asn = session.config.local_as or self.bgp.asn
        return replace(
            route,
            next_hop=session.local_address,
            as_path=(asn, *route.as_path),
            local_pref=100,
            med=route.med if route.source == "local" else 0,
            communities=communities,
            weight=0,
            originator_id=None,
            cluster_list=(),
        )

    def receive(self, session: _Session, route: BgpRoute) -> BgpRoute | None:
        back = session.peer_config
        if session.ebgp:
            asn = back.local_as or self.bgp.asn
            if route.as_path.count(asn) > back.allowas_in:
                return None
            route = replace(route, local_pref=self.bgp.default_local_pref)
        else:
            if route.originator_id == self.router_id or self.cluster_id in route.cluster_list:
                return None
        route = replace(
            route,
            source="ebgp" if session.ebgp else "ibgp",
            peer=session.local_address,
            peer_router_id=self.peer_ids[session.local],
            from_client=back.route_reflector_client,
            weight=back.weight,
            aggregate=False,
            igp_metric=0,
            protocol="bgp",
            interface=None,
            preference=None,
        )
        config = self.view.config
        if back.prefix_list_in and not config.prefix_allowed(
            "prefix-list", back.prefix_list_in, route.prefix
        ):
            return None
        return config.apply_route_map(back.route_map_in, route)

    peer_ids: dict[str, int]


def bgp_routes(
    views: dict[str, RouterView],
    ribs: dict[str, Rib],
    best: dict[str, dict[IPv4Net, BgpRoute]] | None = None,
) -> dict[str, list[RibRoute]]:
    """The BGP routes every router installs, given each one's table of routes that are
    not BGP (connected, static, IGP). ``best``, when given, receives every router's best
    path per prefix, with its attributes."""
    speakers = {n: _Speaker(v, ribs[n]) for n, v in views.items() if v.config.bgp is not None}
    ids = {n: s.router_id for n, s in speakers.items()}
    for speaker in speakers.values():
        speaker.peer_ids = ids
    sessions = [s for s in _sessions(views, ribs) if s.local in speakers and s.peer in speakers]
    for _ in range(MAX_ROUNDS):
        for speaker in speakers.values():
            speaker.decide()
        changed = False
        incoming: dict[str, dict[IPv4, dict[IPv4Net, tuple[BgpRoute, ...]]]] = defaultdict(dict)
        for session in sessions:
            sender, receiver = speakers[session.local], speakers[session.peer]
            incoming[session.peer][session.local_address] = sender.export(session, receiver)
        for name, speaker in speakers.items():
            if incoming.get(name, {}) != speaker.adj_in:
                speaker.adj_in = incoming.get(name, {})
                changed = True
        if not changed:
            break
    else:
        for speaker in speakers.values():
            _note(speaker.view, f"BGP did not settle after {MAX_ROUNDS} rounds")
    result: dict[str, list[RibRoute]] = {}
    for name, speaker in speakers.items():
        speaker.decide()
        if best is not None:
            best[name] = {prefix: paths[0] for prefix, paths in speaker.best.items()}
        routes: list[RibRoute] = []
        for prefix, paths in speaker.best.items():
            top = paths[0]
            if top.aggregate:
                distance = speaker.bgp.distance_local
                routes.append(RibRoute(prefix, "aggregate", distance, 0, (), "bgp"))
                continue
            if top.source == "local":
                continue  # already in the table as what it was originated from
            distance = speaker._distance(top)
            hops = tuple((p.next_hop, None) for p in paths if p.next_hop is not None)
            routes.append(RibRoute(prefix, "bgp", distance, top.med, hops, top.source))
        result[name] = routes
    return result


__all__ += ["ORIGIN_IGP", "router_id"]
