"""Cisco NX-OS ``show running-config`` as a source of the facts ``show`` output gives.

- the device: ``hostname`` (or ``switchname``), vendor and platform, and the OS version
  (``version 9.2(3) Bios:version``: NX-OS prints the release, not only its train);
- every ``interface`` block: description, admin status, VRF (``vrf member``), switchport
  mode and VLANs, ``no switchport`` (routed), LAG membership (``channel-group N`` is
  ``port-channelN``), the parent of a sub-interface, MTU, speed; its IPv4 (primary and
  ``secondary``) and IPv6 addresses, in the interface's VRF. Lines nested deeper in the
  block (an HSRP or VRRP group's own ``shutdown``) are not the interface's;
- the ``vlan`` lines (``vlan 1,10,2000``; a later ``vlan 10`` block with its ``name``);
- the routes the configuration alone decides, marked ``derived``: one connected route per
  subnet of an interface that is not shut down, and the static routes (``ip route``,
  ``ipv6 route``, global and under ``vrf context NAME``) the device can use, of the lowest
  distance per prefix. A routing table the device printed takes precedence over them;
- its OSPF and BGP configuration and route policy (:mod:`._nxos_routing`), from which the
  routes of every device read together are worked out.

NX-OS prints an interface's ``shutdown`` or ``no shutdown`` only where it differs from the
default, and the default depends on the interface: a switch port (layer 2) and a loopback,
``mgmt0`` and a port channel are up unless ``shutdown``; a routed port (``no switchport``),
a sub-interface, an SVI (``interface VlanN``), ``nve`` and the rest are down unless ``no
shutdown``. ``system default switchport [shutdown]`` (and its ``no`` form) changes the
default of Ethernet ports. On every real NX-OS 9.2/9.3 configuration beside its ``show
interface`` in the tests, this gives the admin state the device printed.

Lines of other commands are not facts here and are passed over; a line of these commands
that cannot be read is a problem, with its line number, and the rest is still used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from network_discovery.model import canonical_interface_name, parse_vlan_ranges
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers.config._blocks import Block, config_blocks
from network_discovery.parsers.config._common import ConfigReader, slash_static
from network_discovery.parsers.config._ios import _VLAN_LIST, _Interface, _interface_line
from network_discovery.parsers.config._nxos_routing import read_nxos_routing

__all__ = ["read_nxos_config"]

Problems = list[tuple[int, str]]

#: Interfaces that are up unless ``shutdown`` whatever else they are.
_UP_BY_DEFAULT = ("Loopback", "mgmt", "Port-channel")
_DEFAULT_SWITCHPORT = ["system", "default", "switchport"]


@dataclass
class _State:
    """What an interface block said of its state; None where it said nothing."""

    iface: _Interface
    shutdown: bool | None = None
    switchport: bool | None = None


@dataclass
class _NxosReader(ConfigReader):
    #: ``system default switchport``: an Ethernet port is a switch port unless it says not.
    layer2: bool = True
    #: ``system default switchport shutdown``: a switch port is down unless ``no shutdown``.
    layer2_shutdown: bool = False
    states: dict[str, _State] = field(default_factory=dict)

    def read(self, block: Block) -> None:
        words = block.words
        if words[0] in ("hostname", "switchname") and len(words) == 2:
            self.hostname = words[1]
        elif words[0] == "version" and len(words) >= 2:
            self.version = words[1]
            self.device["os_version"] = words[1]
        elif words[-3:] == _DEFAULT_SWITCHPORT and words[:-3] in ([], ["no"]):
            self.layer2 = words[0] != "no"
        elif words[-4:] == [*_DEFAULT_SWITCHPORT, "shutdown"] and words[:-4] in ([], ["no"]):
            self.layer2_shutdown = words[0] != "no"
        elif words[0] == "interface" and len(words) == 2:
            self.interface(block)
        elif words[0] == "vlan" and len(words) == 2 and _VLAN_LIST.match(words[1]):
            self.vlan(block)
        elif words[:2] == ["vrf", "context"] and len(words) == 3:
            self.vrf_context(block, words[2])
        elif words[:2] in (["ip", "route"], ["ipv6", "route"]):
            self.static(words)

    def static(self, words: list[str], vrf: str | None = None) -> None:
        static = slash_static(words, self.ctx.platform, vrf)
        if static is not None:
            self.statics.append(static)

    def interface(self, block: Block) -> None:
        name = canonical_interface_name(block.words[1], self.ctx.platform)
        state = self.states.get(name)
        if state is None:  # NX-OS may print a block of one interface twice
            state = self.states[name] = _State(self.by_name(name))
        for number, text in block.direct_children():
            words = text.split()
            try:
                if words in (["shutdown"], ["no", "shutdown"]):
                    state.shutdown = words[0] == "shutdown"
                elif words[:2] == ["vrf", "member"] and len(words) == 3:
                    state.iface.fields["vrf"] = words[2]
                elif words in (["switchport"], ["no", "switchport"]):
                    state.switchport = words[0] == "switchport"
                    if not state.switchport:
                        state.iface.fields["mode"] = "routed"
                else:
                    _interface_line(state.iface, words, text, self.ctx.platform)
            except (ValueError, IndexError) as exc:
                self.problem(number, text, exc)

    def vlan(self, block: Block) -> None:
        tags = parse_vlan_ranges(block.words[1])
        names = [text.split(None, 1)[1] for _, text in block.children if text.startswith("name ")]
        for tag in tags:
            self.add_vlan(tag, names[-1] if names and len(tags) == 1 else None)

    def vrf_context(self, block: Block, vrf: str) -> None:
        for number, text in block.direct_children():
            words = text.split()
            if words[:2] in (["ip", "route"], ["ipv6", "route"]):
                try:
                    self.static(words, vrf)
                except (ValueError, IndexError) as exc:
                    self.problem(number, text, exc)

    def finish(self) -> None:
        """Each interface's admin state: as configured, else its kind's default."""
        for name, state in self.states.items():
            ethernet = name.startswith("Ethernet") and "." not in name
            switchport = state.switchport if state.switchport is not None else self.layer2
            if ethernet and not switchport:
                state.iface.fields.setdefault("mode", "routed")
            if state.shutdown is not None:
                state.iface.shutdown = state.shutdown
            elif ethernet:
                state.iface.shutdown = self.layer2_shutdown if switchport else True
            else:
                state.iface.shutdown = not name.startswith(_UP_BY_DEFAULT) or "." in name


def read_nxos_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], Problems]:
    """The facts of an NX-OS configuration, and the lines that could not be read as (line
    number, problem)."""
    reader = _NxosReader(ctx)
    blocks = config_blocks(text)
    for block in blocks:
        try:
            reader.read(block)
        except (ValueError, IndexError) as exc:
            reader.problem(block.line, block.text, exc)
    reader.finish()
    ctx.routing, routing_problems = read_nxos_routing(blocks, ctx.platform)
    return reader.partials(), sorted([*reader.problems, *routing_problems])
