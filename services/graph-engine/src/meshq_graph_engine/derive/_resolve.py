"""Which device a neighbour entry points at: a collected one, or one only seen."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from network_discovery.model import (
    Device,
    Interface,
    IPAddress,
    NeighborObservation,
    normalise_hostname,
    normalise_mac,
    short_hostname,
)

__all__ = ["MIN_PREFIX", "DeviceIndex", "Resolved", "clean_name"]

#: A neighbour name shorter than this is never matched as a truncated prefix.
MIN_PREFIX = 10
_SERIAL_SUFFIX = re.compile(r"\([^()]*\)$")


def clean_name(name: str | None) -> str | None:
    """The system name without NX-OS's ``(serial)`` suffix, normalised; None if empty."""
    if not name:
        return None
    text = _SERIAL_SUFFIX.sub("", name.strip()).strip()
    try:
        return normalise_hostname(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Resolved:
    """The device an entry points at: its id, whether it was collected, its platform."""

    device: str
    managed: bool
    platform: str | None = None


@dataclass
class DeviceIndex:
    """Managed devices by id, short name, MAC (chassis and interfaces) and address."""

    by_id: dict[str, Device] = field(default_factory=dict)
    by_short: dict[str, set[str]] = field(default_factory=dict)
    by_mac: dict[str, str] = field(default_factory=dict)
    by_ip: dict[str, str] = field(default_factory=dict)
    ports: dict[str, set[str]] = field(default_factory=dict)
    #: (device, ifIndex) -> interface name, where the device's output printed the ifIndex.
    if_names: dict[tuple[str, int], str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        devices: Iterable[Device],
        interfaces: Iterable[Interface] = (),
        ip_addresses: Iterable[IPAddress] = (),
    ) -> DeviceIndex:
        index = cls()
        for device in devices:
            if not device.managed:
                continue
            index.by_id[device.id] = device
            index.by_short.setdefault(short_hostname(device.id), set()).add(device.id)
            if device.chassis_id:
                index._add_mac(device.chassis_id, device.id)
            if device.management_ip:
                index.by_ip.setdefault(device.management_ip, device.id)
        for interface in interfaces:
            index.ports.setdefault(interface.device, set()).add(interface.name)
            if interface.if_index is not None:
                index.if_names.setdefault((interface.device, interface.if_index), interface.name)
            if interface.mac and interface.device in index.by_id:
                index._add_mac(interface.mac, interface.device)
        for address in ip_addresses:
            if address.device in index.by_id:
                index.by_ip.setdefault(address.ip, address.device)
        return index

    def _add_mac(self, value: str, device: str) -> None:
        try:
            self.by_mac.setdefault(normalise_mac(value), device)
        except ValueError:
            pass

    def managed_macs(self) -> set[str]:
        return set(self.by_mac)

    def platform(self, device: str) -> str | None:
        found = self.by_id.get(device)
        return found.platform if found else None

    def by_name(self, name: str | None) -> str | None:
        """A managed device's id from a neighbour's system name (FQDN, short or truncated)."""
        cleaned = clean_name(name)
        if cleaned is None:
            return None
        if cleaned in self.by_id:
            return cleaned
        shorts = self.by_short.get(short_hostname(cleaned), set())
        if len(shorts) == 1:
            return next(iter(shorts))
        if len(cleaned) >= MIN_PREFIX:  # a brief table cut the name short
            matches = {d for d in self.by_id if d.startswith(cleaned)}
            if len(matches) == 1:
                return matches.pop()
        return None

    def resolve(self, obs: NeighborObservation) -> Resolved:
        """The managed device the entry points at, else the unmanaged device it describes."""
        found = self.by_name(obs.remote_system_name)
        if found is None and obs.remote_chassis_id:
            found = self.by_mac.get(obs.remote_chassis_id)
        if found is None and not obs.remote_system_name and obs.remote_management_address:
            found = self.by_ip.get(obs.remote_management_address)
        if found is not None:
            return Resolved(found, True, self.platform(found))
        return Resolved(unmanaged_id(obs), False)


def unmanaged_id(obs: NeighborObservation) -> str:
    """The id of a neighbour that was not collected: its short name, else chassis or IP."""
    name = clean_name(obs.remote_system_name)
    if name is not None:
        return short_hostname(name)
    return obs.remote_device_id
