"""Arista EOS ``show running-config`` as a source of the facts ``show`` output gives.

- the device: ``hostname``, vendor and platform, and the model and OS version that the
  configuration's first comment names (``! device: leaf1 (vEOS, EOS-4.23.0.1F)``);
- every ``interface`` block: description, admin status (``shutdown``: every EOS interface
  is up unless so), VRF (``vrf NAME``, or ``vrf forwarding NAME`` before EOS 4.23), switchport
  mode and VLANs, ``no switchport`` (routed), LAG membership (``channel-group N`` is
  ``Port-ChannelN``), the parent of a sub-interface, MTU, speed (``100full``, ``forced
  10gfull``); its IPv4 (primary and ``secondary``) and IPv6 addresses, in the interface's
  VRF, and ``ip address virtual A/LEN``, an anycast gateway address that several switches
  hold by design (``virtual``);
- the ``vlan`` blocks with their ``name``;
- the routes the configuration alone decides, marked ``derived``: one connected route per
  subnet of an interface that is not shut down, and the static routes (``ip route [vrf V]
  PREFIX [egress-vrf E] [IFACE] [NEXTHOP] [DISTANCE] [tag T] [name N] [metric M]``, ``ipv6
  route``) the device can use, of the lowest distance per prefix. A routing table the device
  printed takes precedence over them;
- its OSPF and BGP configuration and route policy (:mod:`._eos_routing`), from which the
  routes of every device read together are worked out.

Lines of other commands are not facts here and are passed over; a line of these commands
that cannot be read is a problem, with its line number, and the rest is still used.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from network_discovery.model import canonical_interface_name, parse_vlan_ranges
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers.config._blocks import Block, config_blocks
from network_discovery.parsers.config._common import ConfigReader, slash_static, speed_words
from network_discovery.parsers.config._eos_routing import read_eos_routing
from network_discovery.parsers.config._ios import _VLAN_LIST, _interface_line, _Unreadable

__all__ = ["read_eos_config"]

Problems = list[tuple[int, str]]

#: ``! device: np02 (vEOS, EOS-4.23.0.1F)``; cEOS adds a build to the version.
_DEVICE = re.compile(r"^! device: \S+ \((?P<model>[^,()]+), EOS-(?P<version>[^\s,()]+)", re.M)


@dataclass
class _EosReader(ConfigReader):
    def read(self, block: Block) -> None:
        words = block.words
        if words[0] == "hostname" and len(words) == 2:
            self.hostname = words[1]
        elif words[0] == "interface" and len(words) == 2:
            self.interface(block)
        elif words[0] == "vlan" and len(words) == 2 and _VLAN_LIST.match(words[1]):
            tags = parse_vlan_ranges(words[1])
            children = block.direct_children()
            names = [t.split(None, 1)[1] for _, t in children if t.startswith("name ")]
            for tag in tags:
                self.add_vlan(tag, names[-1] if names and len(tags) == 1 else None)
        elif words[:2] in (["ip", "route"], ["ipv6", "route"]):
            static = slash_static(words, self.ctx.platform)
            if static is not None:
                self.statics.append(static)

    def interface(self, block: Block) -> None:
        iface = self.by_name(canonical_interface_name(block.words[1], self.ctx.platform))
        for number, text in block.direct_children():
            words = text.split()
            try:
                if words[0] == "vrf" and len(words) == 2:
                    iface.fields["vrf"] = words[1]
                elif words[:3] == ["ip", "address", "virtual"] and len(words) == 4:
                    try:
                        address = ipaddress.IPv4Interface(words[3]).with_prefixlen
                    except ValueError as exc:
                        raise _Unreadable(f"{words[3]} is not an IPv4 address: {exc}") from None
                    iface.addresses.append(address)
                    self.virtual.add((iface.name, address))
                elif words[0] == "speed":
                    iface.fields["speed_mbps"] = speed_words(words)
                else:
                    _interface_line(iface, words, text, self.ctx.platform)
            except (ValueError, IndexError) as exc:
                self.problem(number, text, exc)


def read_eos_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], Problems]:
    """The facts of an EOS configuration, and the lines that could not be read as (line
    number, problem)."""
    reader = _EosReader(ctx)
    found = _DEVICE.search(text)
    if found is not None:
        reader.device = {"model": found["model"].strip(), "os_version": found["version"]}
    blocks = config_blocks(text)
    for block in blocks:
        try:
            reader.read(block)
        except (ValueError, IndexError) as exc:
            reader.problem(block.line, block.text, exc)
    ctx.routing, routing_problems = read_eos_routing(blocks, ctx.platform)
    return reader.partials(), sorted([*reader.problems, *routing_problems])
