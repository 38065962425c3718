"""Which device a neighbour entry points at, kept up to date device by device.

The same rules as :class:`meshq_graph_engine.derive.DeviceIndex` (collected devices by id,
short name, unique prefix, MAC and address), over every fact in the graph, maintained as
devices' records, interfaces and addresses change. Where two devices claim one MAC or
address, the one a whole-graph pass meets first wins: chassis MACs and management addresses
before interface MACs and configured addresses, then the lower device id.

Each change reports what it may have changed for the entries that were resolved against it
(:class:`IndexChanges`), and :class:`ObserverIndex` tells which observing devices resolved
an entry against those keys, so that only their entries are resolved again.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from network_discovery.model import (
    canonical_interface_name,
    device_id,
    normalise_mac,
    short_hostname,
)

from meshq_graph_engine.derive._resolve import MIN_PREFIX, clean_name
from meshq_graph_engine.facts import FactRow, FactStore

__all__ = ["Claim", "DeviceEntry", "IndexChanges", "ObserverIndex", "ResolutionIndex"]


@lru_cache(maxsize=262_144)
def _short(name: str) -> str:
    return short_hostname(name)


@lru_cache(maxsize=262_144)
def _clean(name: str | None) -> str | None:
    return clean_name(name)


def _mac(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalise_mac(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """What one device gives the index and the endpoint rules."""

    managed: bool
    platform: str | None
    #: (tier, MAC): chassis (0) and interface (1) MACs of a collected device
    macs: frozenset[tuple[int, str]]
    #: (tier, address): management (0) and configured (1) addresses of a collected device
    ips: frozenset[tuple[int, str]]
    #: addresses that are the network's own: configured on it, or a collected device's
    #: management address (never an endpoint's)
    own_ips: frozenset[str]

    @classmethod
    def of(
        cls,
        records: Sequence[FactRow],
        interfaces: Sequence[FactRow],
        addresses: Sequence[FactRow],
    ) -> DeviceEntry | None:
        collected = [r for r in records if r.managed]
        configured = {a.address.split("/", 1)[0] for a in addresses}
        if not collected:
            if not configured:
                return None
            return cls(False, None, frozenset(), frozenset(), frozenset(configured))
        macs: set[tuple[int, str]] = set()
        ips: set[tuple[int, str]] = set()
        for r in collected:
            chassis = _mac(r.chassis_id)
            if chassis:
                macs.add((0, chassis))
            if r.management_ip:
                ips.add((0, r.management_ip))
        for i in interfaces:
            mac = _mac(i.mac)
            if mac:
                macs.add((1, mac))
        ips.update((1, ip) for ip in configured)
        own = configured | {r.management_ip for r in collected if r.management_ip}
        return cls(True, collected[-1].platform, frozenset(macs), frozenset(ips), frozenset(own))


@dataclass
class IndexChanges:
    """What changed in the index during one update."""

    #: devices that became collected or stopped being collected
    managed: set[str] = field(default_factory=set)
    #: devices whose platform or interfaces (ports, ifIndexes) changed
    targets: set[str] = field(default_factory=set)
    #: MACs and addresses whose owning device changed
    macs: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    #: MACs and addresses that became, or stopped being, the network's own
    own_macs: set[str] = field(default_factory=set)
    own_ips: set[str] = field(default_factory=set)


class Resolved(NamedTuple):
    device: str
    managed: bool
    platform: str | None


class Claim(NamedTuple):
    """One neighbour entry, resolved: ``device``/``interface`` see ``remote`` on
    ``remote_port`` (attribute names as :func:`meshq_graph_engine.derive.links._far_port`
    reads them)."""

    device: str
    interface: str
    remote: str
    remote_port: str | None
    protocol: str
    managed: bool
    port_id: str | None
    seq: int  # the entry's place among the observing device's entries (LLDP, then CDP)
    obs: FactRow


def _owner(cands: tuple[tuple[int, str], ...] | None) -> str | None:
    return cands[0][1] if cands else None


class ResolutionIndex:
    """Collected devices by id, short name, prefix, MAC and address; ports per device."""

    def __init__(self, facts: FactStore) -> None:
        self._facts = facts
        self.entries: dict[str, DeviceEntry] = {}
        self.managed: dict[str, str | None] = {}  # collected device -> platform
        self.by_short: dict[str, set[str]] = {}
        self._sorted: list[str] = []
        self.mac_owners: dict[str, tuple[tuple[int, str], ...]] = {}
        self.ip_owners: dict[str, tuple[tuple[int, str], ...]] = {}
        self.own_ip_refs: dict[str, int] = {}
        self._ports: dict[str, frozenset[str]] = {}
        self._if_names: dict[str, dict[int, str]] = {}

    def clear_caches(self) -> None:
        self._ports.clear()
        self._if_names.clear()

    # --- upkeep -------------------------------------------------------------------------

    def set_entry(self, device: str, entry: DeviceEntry | None, out: IndexChanges) -> None:
        old = self.entries.get(device)
        if entry == old:
            return
        if entry is None:
            del self.entries[device]
        else:
            self.entries[device] = entry
        was, now = bool(old and old.managed), bool(entry and entry.managed)
        if was != now:
            out.managed.add(device)
            short = _short(device)
            if now:
                self.managed[device] = entry.platform if entry else None
                self.by_short.setdefault(short, set()).add(device)
                bisect.insort(self._sorted, device)
            else:
                del self.managed[device]
                group = self.by_short[short]
                group.discard(device)
                if not group:
                    del self.by_short[short]
                del self._sorted[bisect.bisect_left(self._sorted, device)]
        elif now and entry and old and entry.platform != old.platform:
            self.managed[device] = entry.platform
            out.targets.add(device)
        old_macs = old.macs if old else frozenset()
        new_macs = entry.macs if entry else frozenset()
        for tier, mac in old_macs - new_macs:
            self._drop(self.mac_owners, mac, (tier, device), out.macs, out.own_macs)
        for tier, mac in new_macs - old_macs:
            self._add(self.mac_owners, mac, (tier, device), out.macs, out.own_macs)
        old_ips = old.ips if old else frozenset()
        new_ips = entry.ips if entry else frozenset()
        for tier, ip in old_ips - new_ips:
            self._drop(self.ip_owners, ip, (tier, device), out.ips, None)
        for tier, ip in new_ips - old_ips:
            self._add(self.ip_owners, ip, (tier, device), out.ips, None)
        old_own = old.own_ips if old else frozenset()
        new_own = entry.own_ips if entry else frozenset()
        for ip in old_own - new_own:
            left = self.own_ip_refs[ip] - 1
            if left:
                self.own_ip_refs[ip] = left
            else:
                del self.own_ip_refs[ip]
                out.own_ips.add(ip)
        for ip in new_own - old_own:
            count = self.own_ip_refs.get(ip, 0)
            self.own_ip_refs[ip] = count + 1
            if not count:
                out.own_ips.add(ip)

    @staticmethod
    def _add(
        table: dict[str, tuple[tuple[int, str], ...]],
        key: str,
        cand: tuple[int, str],
        changed: set[str],
        own: set[str] | None,
    ) -> None:
        before = table.get(key)
        after = tuple(sorted((*before, cand))) if before else (cand,)
        table[key] = after
        if _owner(before) != _owner(after):
            changed.add(key)
        if own is not None and before is None:
            own.add(key)

    @staticmethod
    def _drop(
        table: dict[str, tuple[tuple[int, str], ...]],
        key: str,
        cand: tuple[int, str],
        changed: set[str],
        own: set[str] | None,
    ) -> None:
        before = table[key]
        after = tuple(c for c in before if c != cand)
        if after:
            table[key] = after
        else:
            del table[key]
            if own is not None:
                own.add(key)
        if _owner(before) != _owner(after):
            changed.add(key)

    # --- reads --------------------------------------------------------------------------

    def is_own_mac(self, mac: str) -> bool:
        return mac in self.mac_owners

    def is_own_ip(self, ip: str) -> bool:
        return ip in self.own_ip_refs

    def ports(self, device: str) -> frozenset[str]:
        found = self._ports.get(device)
        if found is None:
            found = self._ports[device] = frozenset(i.name for i in self._interfaces(device))
        return found

    def _interfaces(self, device: str) -> tuple[FactRow, ...]:
        return self._facts.sets.get((device, "interfaces"), ())

    def if_name(self, device: str, if_index: int) -> str | None:
        names = self._if_names.get(device)
        if names is None:
            names = {}
            for i in self._interfaces(device):
                if i.if_index is not None:
                    names.setdefault(i.if_index, i.name)
            self._if_names[device] = names
        return names.get(if_index)

    def by_name(self, name: str | None) -> str | None:
        """A collected device's id from a neighbour's system name (FQDN, short, truncated)."""
        cleaned = _clean(name)
        if cleaned is None:
            return None
        if cleaned in self.managed:
            return cleaned
        shorts = self.by_short.get(_short(cleaned), ())
        if len(shorts) == 1:
            return next(iter(shorts))
        if len(cleaned) >= MIN_PREFIX:
            start = bisect.bisect_left(self._sorted, cleaned)
            end = start
            while end < len(self._sorted) and self._sorted[end].startswith(cleaned):
                end += 1
                if end - start > 1:
                    return None
            if end - start == 1:
                return self._sorted[start]
        return None

    def resolve(self, obs: FactRow) -> Resolved:
        found = self.by_name(obs.remote_system_name)
        if found is None and obs.remote_chassis_id:
            found = _owner(self.mac_owners.get(obs.remote_chassis_id))
        if found is None and not obs.remote_system_name and obs.remote_management_address:
            found = _owner(self.ip_owners.get(obs.remote_management_address))
        if found is not None:
            return Resolved(found, True, self.managed.get(found))
        return Resolved(unmanaged_id(obs), False, None)

    def claim(self, obs: FactRow, seq: int) -> Claim:
        """The entry resolved, with the far port named as the far device names it."""
        target = self.resolve(obs)
        port = None
        if obs.remote_port is None and obs.remote_port_id and obs.remote_port_id.isdigit():
            port = self.if_name(target.device, int(obs.remote_port_id))
        elif obs.remote_port is not None:
            port = canonical_interface_name(obs.remote_port, target.platform)
            if target.managed and obs.remote_port_description:
                known = self.ports(target.device)
                if known and port not in known:
                    described = canonical_interface_name(
                        obs.remote_port_description, target.platform
                    )
                    port = described if described in known else port
        return Claim(
            obs.device,
            obs.interface,
            target.device,
            port,
            obs.protocol,
            target.managed,
            obs.remote_port_id,
            seq,
            obs,
        )


@lru_cache(maxsize=262_144)
def _unmanaged_id(name: str | None, chassis: str | None, address: str | None) -> str:
    cleaned = _clean(name)
    if cleaned is not None:
        return _short(cleaned)
    return device_id(name, chassis_id=chassis, management_ip=address)


def unmanaged_id(obs: FactRow) -> str:
    """The id of a neighbour that was not collected: its short name, else chassis or IP."""
    return _unmanaged_id(
        obs.remote_system_name, obs.remote_chassis_id, obs.remote_management_address
    )


class ObserverIndex:
    """Which observing devices resolved an entry against which key (name, short name,
    chassis MAC, management address, target device)."""

    def __init__(self) -> None:
        self._tables: tuple[dict[str, set[str]], ...] = ({}, {}, {}, {}, {})
        self._keys: dict[str, tuple[tuple[int, str], ...]] = {}

    def register(self, observer: str, claims: Iterable[Claim]) -> None:
        keys: set[tuple[int, str]] = set()
        for c in claims:
            obs = c.obs
            cleaned = _clean(obs.remote_system_name)
            if cleaned is not None:
                keys.add((0, cleaned))
                keys.add((1, _short(cleaned)))
            if obs.remote_chassis_id:
                keys.add((2, obs.remote_chassis_id))
            if obs.remote_management_address:
                keys.add((3, obs.remote_management_address))
            keys.add((4, c.remote))
        old = self._keys.pop(observer, ())
        for table, key in old:
            group = self._tables[table][key]
            group.discard(observer)
            if not group:
                del self._tables[table][key]
        for table, key in keys:
            self._tables[table].setdefault(key, set()).add(observer)
        if keys:
            self._keys[observer] = tuple(keys)

    def affected(self, changes: IndexChanges) -> set[str]:
        """Observers whose entries may resolve differently after ``changes``."""
        names, shorts, macs, ips, targets = self._tables
        out: set[str] = set()
        for device in changes.managed:
            out |= names.get(device, set())
            out |= shorts.get(_short(device), set())
            for length in range(MIN_PREFIX, len(device)):
                out |= names.get(device[:length], set())
            out |= targets.get(device, set())
        for device in changes.targets:
            out |= targets.get(device, set())
        for mac in changes.macs:
            out |= macs.get(mac, set())
        for ip in changes.ips:
            out |= ips.get(ip, set())
        return out
