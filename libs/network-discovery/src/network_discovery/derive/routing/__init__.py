"""Routing tables worked out from configurations, for devices whose table was not read.

Every device with a routing configuration takes part (its interfaces, addresses, static
routes, OSPF and BGP settings), including devices whose own table was collected: their
configuration still decides what they advertise. Every one receives the result, as routes
marked ``derived``: OSPF (intra-area, inter-area, external), BGP (eBGP, iBGP, route
reflection, multipath, add-path), BGP aggregates and Junos aggregate routes (discard
routes). Where the device's printed table was read, that table is what forwarding uses and
the derived routes show where the configuration and the device disagree. The default VRF is
computed; VRF instances of the protocols are listed in the device's notes instead.

Order: OSPF, then the generated routes (Junos ``aggregate``, from the connected, static and
OSPF routes), then BGP over the tables these make. Where a router redistributes BGP into
OSPF, OSPF is worked out once more with the BGP routes of that first pass in use, and BGP
once more over the new tables (no further: a loop between the two is not iterated).

See :mod:`._ospf` and :mod:`._bgp` for the rules followed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from network_discovery.derive.routing._bgp import bgp_routes
from network_discovery.derive.routing._config import BgpRoute, RoutingConfig
from network_discovery.derive.routing._ospf import ospf_routes
from network_discovery.derive.routing._rib import Rib, RibRoute, RouterIface, RouterView
from network_discovery.model import Interface, IPAddress, Route

__all__ = ["BgpRoute", "RoutedDevice", "RoutingConfig", "derive_routes"]


@dataclass
class RoutedDevice:
    """What the computation needs of one device."""

    device: str
    config: RoutingConfig
    interfaces: Sequence[Interface] = ()
    addresses: Sequence[IPAddress] = ()
    #: Its connected and static routes (derived from the configuration or collected).
    routes: Sequence[Route] = ()
    #: Whether its routing table was read (then it is not given derived routes).
    collected: bool = False
    notes: list[str] = field(default_factory=list)


def _view(device: RoutedDevice) -> RouterView:
    view = RouterView(device.device, device.config)
    for iface in device.interfaces:
        if iface.vrf:
            continue
        up = str(getattr(iface, "admin_status", "up") or "up") != "down"
        view.interfaces[iface.name] = RouterIface(iface.name, up)
    for address in device.addresses:
        if address.vrf or address.interface is None:
            continue
        value = ipaddress.ip_interface(address.address)
        if not isinstance(value, ipaddress.IPv4Interface):
            continue
        held = view.interfaces.setdefault(address.interface, RouterIface(address.interface, True))
        held.addresses.append(value)
    configured = any(r.origin == "derived" for r in device.routes)
    for route in device.routes:
        if route.vrf or route.protocol != "static" or route.version != 4:
            continue
        if configured and route.origin != "derived":
            continue  # the configuration's static routes, not the printed table's
        hops = tuple(
            (
                ipaddress.IPv4Address(h.address) if h.address else None,
                h.interface,
            )
            for h in route.next_hops
        )
        prefix = ipaddress.IPv4Network(route.prefix)
        distance = route.distance if route.distance is not None else 1
        view.static.append(RibRoute(prefix, "static", distance, route.metric or 0, hops))
    return view


def _base_rib(view: RouterView, igp: Iterable[RibRoute]) -> Rib:
    rib = Rib()
    for route in [*view.connected(), *view.static, *igp]:
        rib.offer(route)
    return rib


def _generated(view: RouterView, igp: Iterable[RibRoute]) -> list[RibRoute]:
    """The generated routes (Junos ``aggregate``) that a more specific route of the table
    (connected, static, OSPF) makes active, through the contributor policy if any."""
    if not view.config.generated:
        return []
    table = _base_rib(view, igp).routes()
    out: list[RibRoute] = []
    for generated in view.config.generated:
        for route in table:
            if route.prefix == generated.prefix or not route.prefix.subnet_of(generated.prefix):
                continue
            if generated.policy is not None:
                connected = route.protocol == "connected" and route.hops
                probe = BgpRoute(
                    route.prefix,
                    None,
                    protocol=route.protocol,
                    interface=route.hops[0][1] if connected else None,
                )
                if view.config.apply_route_map(generated.policy, probe) is None:
                    continue
            prefix, protocol = generated.prefix, generated.protocol
            out.append(RibRoute(prefix, protocol, generated.distance, 0, ()))
            break
    return out


def _redistributes_bgp(views: dict[str, RouterView]) -> bool:
    return any(
        r.source in ("bgp", "aggregate")
        for v in views.values()
        for p in v.config.ospf
        for r in p.redistribute
    )


def _in_use(rib: Rib, routes: Iterable[RibRoute]) -> list[RibRoute]:
    """The routes (BGP) that win over the table's own for their prefix."""
    out = []
    for route in routes:
        known = rib.get(route.prefix)
        if known is None or known.distance > route.distance:
            out.append(route)
    return out


def _model(device: str, route: RibRoute) -> Route:
    hops = [
        {k: v for k, v in (("address", str(a) if a else None), ("interface", i)) if v}
        for a, i in route.hops
    ]
    return Route.model_validate(
        {
            "device": device,
            "prefix": str(route.prefix),
            "protocol": route.protocol,
            "next_hops": hops,
            "distance": route.distance,
            "metric": route.metric,
            "origin": "derived",
        }
    )


def derive_routes(
    devices: Sequence[RoutedDevice],
    bgp_paths: dict[str, dict[ipaddress.IPv4Network, BgpRoute]] | None = None,
) -> dict[str, list[Route]]:
    """The OSPF and BGP routes (and BGP aggregates) each device's configuration implies,
    keyed by device; connected and static routes are not repeated here. A device whose table
    was collected gets them too: they are what its configuration says, to be compared.
    ``bgp_paths``, when given, receives each BGP speaker's best path per prefix (local
    preference, AS path, MED, communities: what ``show bgp`` would print)."""
    views = {d.device: _view(d) for d in devices}
    igp = ospf_routes(views)
    generated = {name: _generated(view, igp.get(name, ())) for name, view in views.items()}
    ribs = {
        name: _base_rib(view, [*igp.get(name, ()), *generated[name]])
        for name, view in views.items()
    }
    again = _redistributes_bgp(views)
    learned = bgp_routes(views, ribs, None if again else bgp_paths)
    if again:
        other = {
            name: [*_in_use(ribs[name], learned.get(name, ())), *generated[name]] for name in views
        }
        igp = ospf_routes(views, other)
        generated = {name: _generated(view, igp.get(name, ())) for name, view in views.items()}
        ribs = {
            name: _base_rib(view, [*igp.get(name, ()), *generated[name]])
            for name, view in views.items()
        }
        learned = bgp_routes(views, ribs, bgp_paths)
    out: dict[str, list[Route]] = {}
    for device in devices:
        name = device.device
        rib = Rib()
        for route in [*igp.get(name, ()), *generated[name], *learned.get(name, ())]:
            rib.offer(route)
        base = _base_rib(views[name], ())
        kept = []
        for route in rib.routes():
            known = base.get(route.prefix)
            if known is not None and known.distance <= route.distance:
                continue  # a connected or static route of the same prefix wins
            kept.append(_model(device.device, route))
        out[device.device] = kept
        device.notes.extend(views[device.device].config.notes)
    return out
