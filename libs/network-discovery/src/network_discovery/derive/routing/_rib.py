"""A router as the computation sees it, and its routing table (RIB) with longest-prefix
lookups."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from network_discovery.derive.routing._config import RoutingConfig

__all__ = ["Hop", "Rib", "RibRoute", "RouterIface", "RouterView"]

IPv4 = ipaddress.IPv4Address
IPv4Net = ipaddress.IPv4Network

#: (next-hop address, outgoing interface); either may be None, not both.
Hop = tuple[IPv4 | None, str | None]
#: A loopback: ``Loopback0`` (IOS, NX-OS, EOS), ``lo0`` / ``lo0.1`` (Junos).
_LOOPBACK = re.compile(r"^(?:loopback|lo\d+(?:\.\d+)?$)", re.I)


@dataclass(frozen=True)
class RibRoute:
    prefix: IPv4Net
    protocol: str
    distance: int
    metric: int
    #: Empty: a discard route (an aggregate's Null0).
    hops: tuple[Hop, ...]
    #: A finer kind of route, for the notes of the answer (``E2``, ``IA``, ``ibgp``…).
    kind: str = ""


@dataclass
class RouterIface:
    name: str
    up: bool
    addresses: list[ipaddress.IPv4Interface] = field(default_factory=list)

    @property
    def loopback(self) -> bool:
        return _LOOPBACK.match(self.name) is not None

    @property
    def primary(self) -> ipaddress.IPv4Interface | None:
        return self.addresses[0] if self.addresses else None


@dataclass
class RouterView:
    """One device of the default VRF: its interfaces and addresses, the routes its
    configuration decides alone (connected, static), and its routing configuration."""

    name: str
    config: RoutingConfig
    interfaces: dict[str, RouterIface] = field(default_factory=dict)
    static: list[RibRoute] = field(default_factory=list)

    def connected(self) -> list[RibRoute]:
        out: list[RibRoute] = []
        for iface in self.interfaces.values():
            if not iface.up:
                continue
            for address in iface.addresses:
                out.append(RibRoute(address.network, "connected", 0, 0, ((None, iface.name),)))
        return out

    def owns(self, address: IPv4) -> bool:
        return any(a.ip == address for i in self.interfaces.values() if i.up for a in i.addresses)


class Rib:
    """The routes of one table, the best per prefix by administrative distance."""

    def __init__(self) -> None:
        self._best: dict[IPv4Net, RibRoute] = {}
        self._by_length: dict[int, dict[int, RibRoute]] = {}

    def offer(self, route: RibRoute) -> None:
        known = self._best.get(route.prefix)
        if known is not None:
            if known.distance < route.distance:
                return
            if known.distance == route.distance and known.protocol == route.protocol:
                if known.metric < route.metric:
                    return
                if known.metric == route.metric:
                    hops = known.hops + tuple(h for h in route.hops if h not in known.hops)
                    route = RibRoute(
                        route.prefix, route.protocol, route.distance, route.metric, hops, route.kind
                    )
        self._best[route.prefix] = route
        length = route.prefix.prefixlen
        self._by_length.setdefault(length, {})[int(route.prefix.network_address)] = route

    def routes(self) -> list[RibRoute]:
        return list(self._best.values())

    def get(self, prefix: IPv4Net) -> RibRoute | None:
        return self._best.get(prefix)

    def lookup(self, address: IPv4) -> RibRoute | None:
        value = int(address)
        for length in sorted(self._by_length, reverse=True):
            mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF if length else 0
            found = self._by_length[length].get(value & mask)
            if found is not None:
                return found
        return None
