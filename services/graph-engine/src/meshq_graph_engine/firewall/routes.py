"""Longest-prefix match over one device's routing table, VRF by VRF.

Routes are indexed by (VRF, IP version, prefix length) → network as an integer, so a lookup
tries only the prefix lengths that the table holds, longest first. Every next hop of the
matching route is returned: equal-cost paths are all reported.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from meshq_graph_engine.firewall._intervals import _v4

__all__ = ["DEFAULT_VRF", "NextHop", "RouteEntry", "RouteTable", "vrf_name"]

DEFAULT_VRF = "default"
_GLOBAL = frozenset({"", "default", "global", "master", "inet.0", "inet6.0"})


def vrf_name(value: str | None) -> str:
    """One spelling for the global table (``None``, ``global``, Junos ``inet.0`` …)."""
    return DEFAULT_VRF if value is None or value.strip().lower() in _GLOBAL else value.strip()


@dataclass(frozen=True, slots=True)
class NextHop:
    address: str | None = None
    interface: str | None = None


@dataclass(frozen=True, slots=True)
class RouteEntry:
    device: str
    prefix: str
    vrf: str = DEFAULT_VRF
    protocol: str = ""
    next_hops: tuple[NextHop, ...] = ()
    #: ``collected`` (the device printed it) or ``derived`` (worked out from its configuration)
    origin: str = "collected"

    @property
    def discards(self) -> bool:
        """A route that drops what it matches (Null0, discard, reject, blackhole)."""
        names = [h.interface.lower() for h in self.next_hops if h.interface]
        return bool(names) and all(
            n.startswith(("null", "discard", "reject", "blackhole")) for n in names
        )


def _prefix(text: str) -> tuple[int, int, int]:
    """(IP version, prefix length, network as an integer); plain IPv4 read without
    ``ipaddress``."""
    fast = _v4(text)
    if fast is not None:
        first, last = fast
        return 4, 32 - (last - first).bit_length(), first
    network = ipaddress.ip_network(text, strict=False)
    return network.version, network.prefixlen, int(network.network_address)


class RouteTable:
    """The routes of one device."""

    def __init__(self, routes: Iterable[RouteEntry]) -> None:
        self._by: dict[tuple[str, int], dict[int, dict[int, RouteEntry]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        self._lengths: dict[tuple[str, int], list[int]] = {}
        count = 0
        for route in routes:
            version, length, base = _prefix(route.prefix)
            key = (vrf_name(route.vrf), version)
            slot = self._by[key][length]
            if base in slot:  # the same prefix twice: keep every next hop
                old = slot[base]
                hops = old.next_hops + tuple(h for h in route.next_hops if h not in old.next_hops)
                route = RouteEntry(old.device, old.prefix, old.vrf, old.protocol, hops)
            slot[base] = route
            count += 1
        for vrf_version, slots in self._by.items():
            self._lengths[vrf_version] = sorted(slots, reverse=True)
        self.count = count

    def __bool__(self) -> bool:
        return self.count > 0

    def vrfs(self) -> set[str]:
        return {vrf for vrf, _ in self._by}

    def lookup(self, destination: str, vrf: str = DEFAULT_VRF) -> RouteEntry | None:
        """The most specific route to ``destination`` in ``vrf``, or None."""
        address = ipaddress.ip_address(destination)
        key = (vrf_name(vrf), address.version)
        slots = self._by.get(key)
        if not slots:
            return None
        bits = address.max_prefixlen
        value = int(address)
        for length in self._lengths[key]:
            base = (value >> (bits - length)) << (bits - length) if length else 0
            found = slots[length].get(base)
            if found is not None:
                return found
        return None
