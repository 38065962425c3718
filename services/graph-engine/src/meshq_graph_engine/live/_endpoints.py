"""Endpoints from MAC tables on edge ports, joined with ARP, kept per MAC.

The rules of :func:`meshq_graph_engine.derive.derive_endpoints`, over every fact in the
graph: a MAC is placed on the edge port (not a link end toward a collected device, nor a LAG
or member of one; not a CPU/tunnel/SVI port; not a trunk carrying more than
``MAX_MACS_ON_TRUNK`` MACs) that carries the fewest MACs, and gets the addresses ARP maps to it
that are not the network's own. What one MAC's endpoint depends on is kept indexed (which
devices' MAC tables and ARP tables name it, each port's status), so that a change derives
again only the MACs it can move.

Per-device views (a MAC table by MAC and by port, an interface set's trunks and LAGs) are
built on demand from the fact sets and dropped after each update.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from meshq_graph_engine.derive.endpoints import _AGGREGATE, MAX_MACS_ON_TRUNK, NOT_EDGE
from meshq_graph_engine.facts import FactRow, FactStore
from meshq_graph_engine.live._index import ResolutionIndex

__all__ = ["DerivedEndpoint", "EndpointIndex", "MacView", "PortView"]


def _multicast(mac: str) -> bool:
    return bool(int(mac[:2], 16) & 1)


@lru_cache(maxsize=1_048_576)
def _edge_name(name: str) -> bool:
    return not NOT_EDGE.match(name)


@lru_cache(maxsize=262_144)
def _ip_key(ip: str) -> tuple[int, Any]:
    address = ipaddress.ip_address(ip)
    return (address.version, address)


def sort_ips(ips: Iterable[str]) -> tuple[str, ...]:
    """Unique addresses in the model's order (IPv4 first, then by value)."""
    unique = set(ips)
    if len(unique) < 2:
        return tuple(unique)
    return tuple(sorted(unique, key=_ip_key))


@dataclass(frozen=True, slots=True)
class DerivedEndpoint:
    ips: tuple[str, ...]
    device: str | None
    interface: str | None
    vlan: int | None


@dataclass
class MacView:
    """One device's MAC table: entries that may place an endpoint, by MAC and by port."""

    #: MAC -> (port, entry) in table order
    by_mac: dict[str, list[tuple[str, FactRow]]] = field(default_factory=dict)
    by_port: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Sequence[FactRow]) -> MacView:
        view = cls()
        by_mac, by_port = view.by_mac, view.by_port
        for row in rows:
            mac = row.mac
            if _multicast(mac) or not _edge_name(row.interface):
                continue
            port = f"{row.device}|{row.interface}"
            entries = by_mac.get(mac)
            if entries is None:
                by_mac[mac] = [(port, row)]
            else:
                entries.append((port, row))
            macs = by_port.get(port)
            if macs is None:
                by_port[port] = {mac}
            else:
                macs.add(mac)
        return view


@dataclass
class PortView:
    """One device's interfaces as the edge rules read them: trunks and LAG groups."""

    trunks: frozenset[str]
    #: interface id -> the LAG group it belongs to (the LAG and its members)
    groups: dict[str, frozenset[str]]

    @classmethod
    def of(cls, rows: Sequence[FactRow]) -> PortView:
        trunks: set[str] = set()
        members: dict[str, set[str]] = {}
        for i in rows:
            port = f"{i.device}|{i.name}"
            if i.lag:
                lag = f"{i.device}|{i.lag}"
                members.setdefault(lag, set()).add(port)
                trunks.add(lag)
            if i.mode == "trunk" or _AGGREGATE.match(i.name):
                trunks.add(port)
        groups: dict[str, frozenset[str]] = {}
        for lag, ports in members.items():
            group = frozenset(ports | {lag})
            for port in group:
                groups[port] = group
        return cls(frozenset(trunks), groups)


def _many(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


def _with(value: str | tuple[str, ...] | None, item: str) -> str | tuple[str, ...]:
    if value is None:
        return item
    items = _many(value)
    return value if item in items else tuple(sorted((*items, item)))


def _without(value: str | tuple[str, ...] | None, item: str) -> str | tuple[str, ...] | None:
    items = tuple(i for i in _many(value) if i != item)
    if not items:
        return None
    return items[0] if len(items) == 1 else items


def _unlink(table: dict[str, Any], key: str, item: str) -> None:
    left = _without(table.get(key), item)
    if left is None:
        table.pop(key, None)
    else:
        table[key] = left


class EndpointIndex:
    """Where every MAC may be placed, and the status of every port that matters."""

    def __init__(self, index: ResolutionIndex, facts: FactStore) -> None:
        self._index = index
        self._facts = facts
        #: MAC -> devices whose MAC table may place it (a device id, or several)
        self.mac_devices: dict[str, str | tuple[str, ...]] = {}
        #: MAC -> devices whose ARP table names it; address -> devices whose ARP names it
        self.arp_devices: dict[str, str | tuple[str, ...]] = {}
        self.ip_devices: dict[str, str | tuple[str, ...]] = {}
        #: link ends toward a collected device, by interface id
        self.uplink_base: dict[str, int] = {}
        self._macs: dict[str, MacView] = {}
        self._ports: dict[str, PortView] = {}
        self._arp: dict[str, dict[str, set[str]]] = {}
        #: the MACs an update derives again (:meth:`deriving`), and each device's ARP table
        #: as far as it names them
        self._wanted: frozenset[str] | set[str] | None = None
        self._arp_wanted: dict[str, dict[str, set[str]]] = {}
        self._counts: dict[str, int] = {}

    def _rows(self, device: str, kind: str) -> Sequence[FactRow]:
        return self._facts.sets.get((device, kind), ())

    def clear_caches(self) -> None:
        self._macs.clear()
        self._ports.clear()
        self._arp.clear()
        self._arp_wanted.clear()
        self._wanted = None
        self._counts.clear()

    def deriving(self, macs: set[str]) -> None:
        """The MACs :meth:`derive` is asked for next (until :meth:`clear_caches`): a device's
        ARP table is then read for those alone. A gateway's table names a good part of the
        network's MACs: made whole for each update, its view cost more than the MACs the
        update derives."""
        self._wanted = macs
        self._arp_wanted.clear()

    # --- views ---------------------------------------------------------------------------

    def mac_view(self, device: str) -> MacView:
        view = self._macs.get(device)
        if view is None:
            view = self._macs[device] = MacView.of(self._rows(device, "mac_table"))
        return view

    def port_view(self, device: str) -> PortView:
        view = self._ports.get(device)
        if view is None:
            view = self._ports[device] = PortView.of(self._rows(device, "interfaces"))
        return view

    def arp_view(self, device: str) -> dict[str, set[str]]:
        """MAC -> addresses in one device's ARP table."""
        view = self._arp.get(device)
        if view is None:
            view = {}
            for row in self._rows(device, "arp"):
                view.setdefault(row.mac, set()).add(row.ip)
            self._arp[device] = view
        return view

    def _arp_ips(self, device: str, mac: str) -> set[str] | tuple[()]:
        """The addresses one device's ARP table maps ``mac`` to."""
        wanted = self._wanted
        if wanted is None or mac not in wanted or device in self._arp:
            return self.arp_view(device).get(mac, ())
        view = self._arp_wanted.get(device)
        if view is None:
            view = self._arp_wanted[device] = {}
            for row in self._rows(device, "arp"):
                if row.mac in wanted:
                    view.setdefault(row.mac, set()).add(row.ip)
        return view.get(mac, ())

    # --- upkeep --------------------------------------------------------------------------

    def replace_mac_table(
        self, device: str, old: Sequence[FactRow], new: Sequence[FactRow]
    ) -> set[str]:
        """A device's MAC table changed: index it; the MACs whose placement may change."""
        before = {r.mac for r in old}
        after = {r.mac for r in new}
        for mac in before - after:
            _unlink(self.mac_devices, mac, device)
        for mac in after - before:
            self.mac_devices[mac] = _with(self.mac_devices.get(mac), device)
        self._macs.pop(device, None)
        self._counts.clear()
        return before | after

    def replace_arp(self, device: str, old: Sequence[FactRow], new: Sequence[FactRow]) -> set[str]:
        before = {(r.mac, r.ip) for r in old}
        after = {(r.mac, r.ip) for r in new}
        old_macs, new_macs = {m for m, _ in before}, {m for m, _ in after}
        old_ips, new_ips = {i for _, i in before}, {i for _, i in after}
        for mac in old_macs - new_macs:
            _unlink(self.arp_devices, mac, device)
        for mac in new_macs - old_macs:
            self.arp_devices[mac] = _with(self.arp_devices.get(mac), device)
        for ip in old_ips - new_ips:
            _unlink(self.ip_devices, ip, device)
        for ip in new_ips - old_ips:
            self.ip_devices[ip] = _with(self.ip_devices.get(ip), device)
        self._arp.pop(device, None)
        self._arp_wanted.pop(device, None)
        return {m for m, _ in before ^ after}

    def add_uplink(self, port: str, step: int) -> bool:
        """Count a link end toward a collected device (``step`` +1 or -1); whether the
        port's status changed."""
        count = self.uplink_base.get(port, 0) + step
        if count:
            self.uplink_base[port] = count
        else:
            self.uplink_base.pop(port, None)
        return (count > 0) != (count - step > 0)

    # --- reads ---------------------------------------------------------------------------

    def group(self, port: str) -> frozenset[str]:
        """The ports whose edge status moves with ``port`` (its LAG group, or itself)."""
        return self.port_view(port.split("|", 1)[0]).groups.get(port) or frozenset((port,))

    def is_uplink(self, port: str) -> bool:
        group = self.port_view(port.split("|", 1)[0]).groups.get(port)
        if group is None:
            return port in self.uplink_base
        return not self.uplink_base.keys().isdisjoint(group)

    def is_trunk(self, port: str) -> bool:
        return port in self.port_view(port.split("|", 1)[0]).trunks

    def macs_on(self, ports: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for port in ports:
            out |= self.mac_view(port.split("|", 1)[0]).by_port.get(port, set())
        return out

    def ports_of(self, mac: str) -> Iterator[str]:
        for device in _many(self.mac_devices.get(mac)):
            for port, _ in self.mac_view(device).by_mac.get(mac, ()):
                yield port

    def arp_macs(self, ip: str) -> set[str]:
        out: set[str] = set()
        for device in _many(self.ip_devices.get(ip)):
            for mac, ips in self.arp_view(device).items():
                if ip in ips:
                    out.add(mac)
        return out

    def count(self, port: str) -> int:
        """MACs on an edge port that are not the network's own."""
        found = self._counts.get(port)
        if found is None:
            macs = self.mac_view(port.split("|", 1)[0]).by_port.get(port, ())
            found = self._counts[port] = sum(1 for m in macs if not self._index.is_own_mac(m))
        return found

    def derive(self, mac: str) -> DerivedEndpoint | None:
        """The endpoint the MAC and ARP tables make of ``mac``, if any."""
        if _multicast(mac) or self._index.is_own_mac(mac):
            return None
        best: tuple[int, str] | None = None
        placed: FactRow | None = None
        for device in _many(self.mac_devices.get(mac)):
            for port, row in self.mac_view(device).by_mac.get(mac, ()):
                if self.is_uplink(port):
                    continue
                count = self.count(port)
                if count > MAX_MACS_ON_TRUNK and self.is_trunk(port):
                    continue
                if best is None or (count, port) < best:
                    best, placed = (count, port), row
        ips: set[str] = set()
        for device in _many(self.arp_devices.get(mac)):
            ips.update(ip for ip in self._arp_ips(device, mac) if not self._index.is_own_ip(ip))
        if placed is None and not ips:
            return None
        if placed is None:
            return DerivedEndpoint(sort_ips(ips), None, None, None)
        return DerivedEndpoint(sort_ips(ips), placed.device, placed.interface, placed.vlan)
