"""Routing tables worked out from configurations, for devices whose table was not read.

Every device with a routing configuration takes part (its interfaces, addresses, static
routes, OSPF and BGP settings), including devices whose own table was collected: their
configuration still decides what they advertise. Every one receives the result, as routes
marked ``derived``: OSPF (intra-area, inter-area, external), BGP (eBGP, iBGP, route
reflection, multipath, add-path) and BGP aggregates (discard routes). Where the device's
printed table was read, that table is what forwarding uses and the derived routes show
where the configuration and the device disagree. The default VRF is computed; VRF
instances of the protocols are listed in the device's notes instead.

See :mod:`._ospf` and :mod:`._bgp` for the rules followed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from network_discovery.derive.routing._bgp import bgp_routes
from network_discovery.derive.routing._config import RoutingConfig
from network_discovery.derive.routing._ospf import ospf_routes
from network_discovery.derive.routing._rib import Rib, RibRoute, RouterIface, RouterView
from network_discovery.model import Interface, IPAddress, Route

__all__ = ["RoutedDevice", "RoutingConfig", "derive_routes"]


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


def derive_routes(devices: Sequence[RoutedDevice]) -> dict[str, list[Route]]:
    """The OSPF and BGP routes (and BGP aggregates) each device's configuration implies,
    keyed by device; connected and static routes are not repeated here. A device whose table
    was collected gets them too: they are what its configuration says, to be compared."""
    views = {d.device: _view(d) for d in devices}
    igp = ospf_routes(views)
    ribs = {name: _base_rib(view, igp.get(name, ())) for name, view in views.items()}
    learned = bgp_routes(views, ribs)
    out: dict[str, list[Route]] = {}
    for device in devices:
        rib = Rib()
        for route in [*igp.get(device.device, ()), *learned.get(device.device, ())]:
            rib.offer(route)
        base = ribs[device.device]
        kept = []
        for route in rib.routes():
            known = base.get(route.prefix)
            if known is not None and known.protocol != "ospf" and known.distance <= route.distance:
                continue  # a connected or static route of the same prefix wins
            kept.append(_model(device.device, route))
        out[device.device] = kept
        device.notes.extend(views[device.device].config.notes)
    return out
