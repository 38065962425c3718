"""What the NX-OS, EOS and Junos configuration readers share with the IOS one: the facts are
built the same way (:class:`ConfigReader`, on the IOS reader's), and NX-OS and EOS write
their static routes the same way (``ip route [vrf V] PREFIX/LEN [IFACE] [NEXTHOP] ...``).

On top of the IOS reader, a reader here may give an interface's addresses that are shared by
design (EOS ``ip address virtual``), more of the device (the OS version, the model), and the
VLANs of several lines that name the same VLAN (NX-OS ``vlan 1,10`` then ``vlan 10`` with its
name) once.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import VLAN, FactKind, canonical_interface_name, ids
from network_discovery.parsers._context import Partial
from network_discovery.parsers._map_routes import _hop
from network_discovery.parsers._values import speed_mbps
from network_discovery.parsers.config._ios import (
    _NOT_A_ROUTE,
    Networks,
    _Interface,
    _is_address,
    _network,
    _number,
    _reaches,
    _Reader,
    _Static,
)

__all__ = [
    "ConfigReader",
    "Networks",
    "connected_networks",
    "slash_static",
    "speed_words",
]

#: Options of a static route followed by a value (NX-OS and EOS).
_WITH_VALUE = frozenset({"tag", "name", "track", "metric"})


def connected_networks(interfaces: list[_Interface]) -> Networks:
    """The subnets of the interfaces that are not shut down, per VRF (None: the default)."""
    connected: Networks = {}
    for iface in interfaces:
        for address in [] if iface.shutdown else iface.addresses:
            network = ipaddress.ip_interface(address).network
            connected.setdefault(iface.fields.get("vrf"), []).append(network)
    return connected


def speed_words(words: list[str]) -> int | None:
    """``speed 1000`` (NX-OS, in Mb/s), ``speed 100full`` / ``speed forced 10gfull`` (EOS),
    ``speed 10g`` (Junos) -> Mb/s; ``auto`` and the like set none."""
    values = [w for w in words[1:] if w not in ("forced", "auto")]
    if len(values) != 1 or "auto" in words:
        return None
    value = values[0].lower().removesuffix("full").removesuffix("half")
    return int(value) if value.isdigit() else speed_mbps(value)


def slash_static(words: list[str], platform: str, vrf: str | None = None) -> _Static | None:
    """NX-OS and EOS: ``ip route [vrf V] PREFIX/LEN [egress-vrf E] [IFACE] [NEXTHOP[%VRF]]
    [vrf E] [DISTANCE] [tag T] [name N] [metric M] [track N]`` and ``ipv6 route ...``; the
    prefix may also be written ``A.B.C.D MASK``. ``vrf`` is that of the block it is in
    (NX-OS ``vrf context``). None for a line that adds no route the configuration can place
    (``ip route static bfd``, a next-hop group)."""
    version = 6 if words[0] == "ipv6" else 4
    i = 2
    if words[i] == "vrf":
        vrf, i = words[i + 1], i + 2
    if words[i] in _NOT_A_ROUTE:
        return None
    if "/" in words[i]:
        prefix, i = _network(words[i], version), i + 1
    else:
        prefix, i = _network(f"{words[i]}/{words[i + 1]}", version), i + 2
    hop_vrf: str | None = None
    if words[i] == "egress-vrf":  # EOS: the next hop is in another VRF
        hop_vrf, i = words[i + 1], i + 2
    if words[i] in ("nexthop-group", "dhcp"):
        return None  # the next hops are not in the line
    interface = address = None
    if _is_address(words[i].split("%")[0]):
        address, i = words[i], i + 1
    else:
        interface, i = canonical_interface_name(words[i], platform), i + 1
        if i < len(words) and _is_address(words[i].split("%")[0]):
            address, i = words[i], i + 1
    if address is not None and "%" in address:
        address, hop_vrf = address.split("%", 1)
    distance, tag = 1, None
    while i < len(words):
        word = words[i]
        if word.isdigit():
            distance = _number(word, 1, 255, "a distance")
        elif word == "vrf":  # NX-OS: the VRF of the next hop
            i += 1
            hop_vrf = words[i]
        elif word in _WITH_VALUE:
            i += 1
            tag = words[i] if word == "tag" else tag
        elif word == "global":
            hop_vrf = ids.DEFAULT_VRF
        i += 1
    hops = _hop(address, interface, hop_vrf)
    return _Static(vrf, prefix, hops, distance, tag)


@dataclass
class ConfigReader(_Reader):
    """The IOS reader's facts, and: the VLANs by tag (a later name wins over none), the
    addresses shared by design per interface, more of the device record, and static routes
    whose next hop must be directly connected (Junos without ``resolve``)."""

    vlan_names: dict[int, str | None] = field(default_factory=dict)
    virtual: set[tuple[str, str]] = field(default_factory=set)
    device: dict[str, Any] = field(default_factory=dict)
    #: Static routes the device resolves only through a connected subnet (not recursively).
    direct_only: list[_Static] = field(default_factory=list)
    #: The interfaces by name (those of :meth:`by_name`).
    named: dict[str, _Interface] = field(default_factory=dict)

    def add_vlan(self, tag: int, name: str | None = None) -> None:
        if name is not None or tag not in self.vlan_names:
            self.vlan_names[tag] = name

    def by_name(self, name: str) -> _Interface:
        """The interface of that (canonical) name, added when not yet known."""
        iface = self.named.get(name)
        if iface is None:
            iface = self.named[name] = _Interface(name)
            self.interfaces.append(iface)
        return iface

    def partials(self) -> list[Partial]:
        self.vlans = [
            VLAN(vlan=tag, name=name, device=self.ctx.device)
            for tag, name in self.vlan_names.items()
        ]
        if self.direct_only:
            connected = connected_networks(self.interfaces)
            down = {iface.name for iface in self.interfaces if iface.shutdown}
            # next hops in a connected subnet (or out of an interface that is up) only
            self.statics += [s for s in self.direct_only if _reaches(s, connected, [], down)]
            self.direct_only = []
        out = super().partials()
        if self.device and (self.hostname or self.version):
            out.insert(1, Partial(FactKind.DEVICE, dict(self.device)))
        if not self.virtual:
            return out
        return [self._mark_virtual(p) for p in out]

    def _mark_virtual(self, partial: Partial) -> Partial:
        ip = partial.value
        if partial.kind is not FactKind.IP_ADDRESSES:
            return partial
        if (ip.interface, ip.address) not in self.virtual:
            return partial
        return Partial(partial.kind, ip.model_copy(update={"virtual": True}), key=partial.key)
