"""Cisco IOS / IOS-XE ``show running-config`` as a source of the facts ``show`` output gives.

- the device: ``hostname``, vendor and platform (the ``version`` line names only the release
  train, ``15.2``, not the release: the OS version is left to ``show version``);
- every ``interface`` block: description, admin status (``shutdown``), VRF (``vrf
  forwarding`` / ``ip vrf forwarding``), switchport mode and VLANs, LAG membership
  (``channel-group N`` is ``Port-channelN``), the parent of a sub-interface, MTU, speed;
  its IPv4 (primary and secondary) and IPv6 addresses, in the interface's VRF;
- the ``vlan`` blocks;
- the routes the configuration alone decides, marked ``derived``: one connected route per
  subnet of an interface that is not shut down, and the static routes (``ip route``,
  ``ipv6 route``) the device can use, of the lowest distance per prefix. A routing table the
  device printed replaces them (see :mod:`network_discovery.parsers._device`).

Lines of other commands are not facts here and are passed over; a line of these commands
that cannot be read is a problem, with its line number, and the rest is still used.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import (
    VLAN,
    FactKind,
    canonical_interface_name,
    ids,
    parse_vlan_ranges,
)
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers._map_inventory import VENDORS, _address, _iface
from network_discovery.parsers._map_routes import _hop, _route
from network_discovery.parsers.config._blocks import Block, config_blocks
from network_discovery.parsers.config._ios_routing import read_ios_routing

__all__ = ["read_ios_config"]

Problems = list[tuple[int, str]]

_ALL_VLANS = frozenset(range(1, 4095))
_VLAN_LIST = re.compile(r"^\d[\d,-]*$")
#: ``ip route`` forms that set something about static routes rather than add one.
_NOT_A_ROUTE = frozenset({"static", "profile", "maximum-routes"})
#: ``ip route`` options followed by a value.
_WITH_VALUE = frozenset({"tag", "name", "track"})


class _Unreadable(ValueError):
    """A line of a command this reader reads, that it could not read."""


@dataclass
class _Interface:
    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)
    shutdown: bool = False
    #: The allowed VLANs of a trunk; None while it is not configured (all VLANs).
    trunk: frozenset[int] | None = None


@dataclass(frozen=True)
class _Static:
    vrf: str | None
    prefix: str
    hops: list[dict[str, str]]
    distance: int
    tag: str | None


def _number(word: str, low: int, high: int, what: str) -> int:
    if not word.isdigit() or not low <= int(word) <= high:
        raise _Unreadable(f"{word!r} is not {what} ({low}-{high})")
    return int(word)


def _vlan(word: str) -> int:
    return _number(word, 1, 4094, "a VLAN")


def _is_address(word: str) -> bool:
    try:
        ipaddress.ip_address(word)
    except ValueError:
        return False
    return True


def _ipv4(address: str, mask: str) -> str:
    """``10.0.0.1 255.255.255.0`` -> ``10.0.0.1/24``."""
    try:
        return ipaddress.IPv4Interface(f"{address}/{mask}").with_prefixlen
    except ValueError as exc:
        raise _Unreadable(f"{address} {mask} is not an address and mask: {exc}") from None


def _network(text: str, version: int) -> str:
    try:
        network = ipaddress.ip_network(text)
    except ValueError as exc:
        raise _Unreadable(f"{text} is not a network: {exc}") from None
    if network.version != version:
        raise _Unreadable(f"{text} is not an IPv{version} network")
    return str(network)


# --- interfaces ----------------------------------------------------------------------


def _ip_address(iface: _Interface, words: list[str]) -> None:
    """``ip address A M [secondary]``; DHCP and negotiated addresses are not configured."""
    if len(words) < 3 or words[2] in ("dhcp", "negotiated", "pool"):
        return
    if "/" in words[2]:
        try:
            address = ipaddress.IPv4Interface(words[2]).with_prefixlen
        except ValueError as exc:
            raise _Unreadable(f"{words[2]} is not an IPv4 address: {exc}") from None
    else:
        address = _ipv4(words[2], words[3])
    iface.addresses.append(address)


def _ipv6_address(iface: _Interface, words: list[str]) -> None:
    """``ipv6 address X/len``; an EUI-64 address (its host part comes from the MAC), a
    link-local one, autoconfiguration and general-prefix forms give no address here."""
    if len(words) < 3 or "/" not in words[2] or {"eui-64", "link-local"} & set(words[3:]):
        return
    try:
        iface.addresses.append(ipaddress.IPv6Interface(words[2]).with_prefixlen)
    except ValueError as exc:
        raise _Unreadable(f"{words[2]} is not an IPv6 address: {exc}") from None


def _allowed(current: frozenset[int] | None, words: list[str]) -> frozenset[int] | None:
    """``switchport trunk allowed vlan [add|remove|except] LIST | all | none``."""
    operation, values = "set", words
    if words[0] in ("add", "remove", "except"):
        operation, values = words[0], words[1:]
    if values == ["all"]:
        return None if operation in ("set", "add") else frozenset()
    if values == ["none"]:
        return {"set": frozenset(), "except": None}.get(operation, current)
    vlans = frozenset(parse_vlan_ranges(",".join(values)))
    if operation == "add":
        return None if current is None else current | vlans
    if operation == "remove":
        return (_ALL_VLANS if current is None else current) - vlans
    if operation == "except":
        return _ALL_VLANS - vlans
    return vlans


def _switchport(iface: _Interface, words: list[str]) -> None:
    fields = iface.fields
    if words == ["no", "switchport"]:
        fields["mode"] = "routed"
        return
    rest = words[1:]
    if rest[:1] == ["mode"] and rest[1:2] in (["access"], ["trunk"]):
        fields["mode"] = rest[1]
    elif rest[:2] == ["access", "vlan"] and rest[2:3] and rest[2].isdigit():
        fields["access_vlan"] = _vlan(rest[2])
    elif rest[:2] == ["voice", "vlan"] and rest[2:3] and rest[2].isdigit():
        fields["voice_vlan"] = _vlan(rest[2])  # not dot1p, none or untagged
    elif rest[:3] == ["trunk", "native", "vlan"] and rest[3:4] and rest[3].isdigit():
        fields["native_vlan"] = _vlan(rest[3])
    elif rest[:3] == ["trunk", "allowed", "vlan"] and rest[3:]:
        iface.trunk = _allowed(iface.trunk, rest[3:])


def _interface_line(iface: _Interface, words: list[str], text: str, platform: str) -> None:
    """One line of an ``interface`` block; lines about anything else are passed over."""
    fields, head = iface.fields, words[0]
    if head == "description" and len(words) > 1:
        fields["description"] = text.split(None, 1)[1]
    elif words == ["shutdown"]:
        iface.shutdown = True
    elif words == ["no", "shutdown"]:
        iface.shutdown = False
    elif words[:2] == ["vrf", "forwarding"] or words[:3] == ["ip", "vrf", "forwarding"]:
        fields["vrf"] = words[2] if head == "vrf" else words[3]
    elif words[:2] == ["ip", "address"]:
        _ip_address(iface, words)
    elif words[:2] == ["ipv6", "address"]:
        _ipv6_address(iface, words)
    elif head == "switchport" or words[:2] == ["no", "switchport"]:
        _switchport(iface, words)
    elif head == "channel-group" and len(words) > 1:
        group = _number(words[1], 1, 65535, "a channel group")
        lag = canonical_interface_name(f"Port-channel{group}", platform)
        if lag != iface.name:
            fields["lag"] = lag
    elif head == "mtu" and len(words) == 2:
        fields["mtu"] = _number(words[1], 1, 65535, "an MTU")
    elif head == "speed" and len(words) == 2 and words[1].isdigit():
        fields["speed_mbps"] = int(words[1])  # in Mb/s; "auto" and the like set none


# --- static routes -------------------------------------------------------------------


def _static(words: list[str], platform: str) -> _Static | None:
    """``ip route [vrf V] PREFIX MASK [IFACE] [NEXTHOP] [distance] [tag T] [name N]
    [permanent] [track N] [global]`` and ``ipv6 route [vrf V] PREFIX/LEN ...``."""
    version = 6 if words[0] == "ipv6" else 4
    i, vrf = 2, None
    if words[i] == "vrf":
        vrf, i = words[i + 1], i + 2
    if words[i] in _NOT_A_ROUTE:
        return None
    if version == 4:
        prefix, i = _network(f"{words[i]}/{words[i + 1]}", 4), i + 2
    else:
        prefix, i = _network(words[i], 6), i + 1
    if words[i] == "dhcp":  # the gateway a DHCP server gives: not known here
        return None
    interface = address = None
    if _is_address(words[i]):
        address, i = words[i], i + 1
    else:
        interface, i = canonical_interface_name(words[i], platform), i + 1
        if i < len(words) and _is_address(words[i]):
            address, i = words[i], i + 1
    distance, tag, leaked = 1, None, False
    while i < len(words):
        word = words[i]
        if word.isdigit():
            distance = _number(word, 1, 255, "a distance")
        elif word in _WITH_VALUE:
            i += 1
            tag = words[i] if word == "tag" else tag
        elif word == "global":
            leaked = True  # the next hop is in the global table
        i += 1
    hops = _hop(address, interface, ids.DEFAULT_VRF if leaked else None)
    return _Static(vrf, prefix, hops, distance, tag)


Networks = dict[str | None, list[ipaddress.IPv4Network | ipaddress.IPv6Network]]


def _reaches(route: _Static, connected: Networks, usable: list[_Static], down: set[str]) -> bool:
    if not route.hops:
        return True  # a discard route
    hop = route.hops[0]
    if "interface" in hop:
        return hop["interface"] not in down
    vrf = None if hop.get("vrf") == ids.DEFAULT_VRF else route.vrf
    address = ipaddress.ip_address(hop["address"])
    others = [ipaddress.ip_network(u.prefix) for u in usable if u.vrf == vrf and u.hops]
    return any(address in net for net in [*connected.get(vrf, []), *others])


def _resolved(statics: list[_Static], connected: Networks, down: set[str]) -> list[_Static]:
    """The static routes the device can use: a discard route, one out of an interface that
    is not shut down, and one whose next hop lies in a connected subnet or, recursively, in
    another usable static route (IOS installs no route to a next hop it cannot reach)."""
    usable: list[_Static] = []
    pending = list(statics)
    while True:
        found = [s for s in pending if _reaches(s, connected, usable, down)]
        if not found:
            return usable
        usable += found
        pending = [s for s in pending if s not in found]


def _installed(statics: list[_Static]) -> list[_Static]:
    """Per VRF and prefix, the routes of the lowest distance (a floating static route is
    only a backup, not in the table)."""
    best: dict[tuple[str | None, str], int] = {}
    for s in statics:
        key = (s.vrf, s.prefix)
        best[key] = min(best.get(key, 255), s.distance)
    return [s for s in statics if s.distance == best[(s.vrf, s.prefix)]]


# --- the whole configuration ---------------------------------------------------------


def _derived(route: Partial, **extra: Any) -> Partial:
    return Partial(route.kind, {**route.value, **extra, "origin": "derived"}, key=route.key)


@dataclass
class _Reader:
    ctx: DeviceContext
    hostname: str | None = None
    version: str | None = None
    interfaces: list[_Interface] = field(default_factory=list)
    vlans: list[VLAN] = field(default_factory=list)
    statics: list[_Static] = field(default_factory=list)
    problems: Problems = field(default_factory=list)

    def problem(self, line: int, text: str, exc: Exception) -> None:
        why = "incomplete line" if isinstance(exc, IndexError) else str(exc) or "unreadable"
        self.problems.append((line, f"{why}: {text.strip()[:160]!r}"))

    def read(self, block: Block) -> None:
        words, platform = block.words, self.ctx.platform
        if words[0] == "hostname" and len(words) == 2:
            self.hostname = words[1]
        elif words[0] == "version" and len(words) == 2:
            self.version = words[1]
        elif words[0] == "interface":
            self.interface(block)
        elif words[0] == "vlan" and len(words) == 2 and _VLAN_LIST.match(words[1]):
            self.vlan(block)
        elif words[:2] in (["ip", "route"], ["ipv6", "route"]):
            static = _static(words, platform)
            if static is not None:
                self.statics.append(static)

    def interface(self, block: Block) -> None:
        iface = _Interface(canonical_interface_name(block.words[1], self.ctx.platform))
        for number, text in block.children:
            try:
                _interface_line(iface, text.split(), text, self.ctx.platform)
            except (ValueError, IndexError) as exc:
                self.problem(number, text, exc)
        self.interfaces.append(iface)

    def vlan(self, block: Block) -> None:
        tags = parse_vlan_ranges(block.words[1])
        names = [text.split(None, 1)[1] for _, text in block.children if text.startswith("name ")]
        name = names[-1] if names and len(tags) == 1 else None
        self.vlans += [VLAN(vlan=tag, name=name, device=self.ctx.device) for tag in tags]

    def partials(self) -> list[Partial]:
        ctx = self.ctx
        out: list[Partial] = []
        if self.hostname or self.version:
            device = {
                "vendor": VENDORS.get(ctx.platform),
                "platform": ctx.platform,
                "reported_hostname": self.hostname,
            }
            out.append(Partial(FactKind.DEVICE, {k: v for k, v in device.items() if v}))
        for iface in self.interfaces:
            out += self.interface_facts(iface)
        out += [Partial(FactKind.VLANS, vlan) for vlan in self.vlans]
        connected: Networks = {}
        for iface in self.interfaces:
            for address in [] if iface.shutdown else iface.addresses:
                network = ipaddress.ip_interface(address).network
                connected.setdefault(iface.fields.get("vrf"), []).append(network)
        down = {iface.name for iface in self.interfaces if iface.shutdown}
        for s in _installed(_resolved(self.statics, connected, down)):
            route = _route(ctx, s.vrf, s.prefix, "static", s.hops, str(s.distance))
            out.append(_derived(route, tag=s.tag))
        return out

    def interface_facts(self, iface: _Interface) -> list[Partial]:
        fields = {**iface.fields, "admin_status": "down" if iface.shutdown else "up"}
        if iface.trunk is not None:
            fields["trunk_vlans"] = tuple(sorted(iface.trunk))
        base = iface.name.split(".", 1)[0]
        if base != iface.name:
            fields["parent"] = canonical_interface_name(base, self.ctx.platform)
        vrf = fields.get("vrf")
        out = [_iface(self.ctx, iface.name, **fields)]
        for address in iface.addresses:
            out.append(_address(self.ctx, iface.name, address, vrf))
            if not iface.shutdown:  # an interface that is shut down has no connected route
                network = str(ipaddress.ip_interface(address).network)
                hops = _hop(None, iface.name)
                out.append(_derived(_route(self.ctx, vrf, network, "connected", hops, "0")))
        return out


def read_ios_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], Problems]:
    """The facts of an IOS / IOS-XE configuration, and the lines that could not be read
    as (line number, problem)."""
    reader = _Reader(ctx)
    blocks = config_blocks(text)
    for block in blocks:
        try:
            reader.read(block)
        except (ValueError, IndexError) as exc:
            reader.problem(block.line, block.text, exc)
    ctx.routing, routing_problems = read_ios_routing(blocks, ctx.platform)
    return reader.partials(), sorted([*reader.problems, *routing_problems])
