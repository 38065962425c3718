"""Which command files are understood on which platform, and how each is read.

A command file is named after the command, spaces as underscores, with ``.txt``:
``show lldp neighbors detail`` -> ``show_lldp_neighbors_detail.txt``. A few commands have
more than one accepted name (see ``aliases``). Most are read row by row through a TextFSM
template; configurations and ``iptables-save`` are read whole by a parser of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from network_discovery.model import FactKind
from network_discovery.parsers import _map_inventory as inv
from network_discovery.parsers import _map_observations as obs
from network_discovery.parsers import _map_routes as rt
from network_discovery.parsers._configs import (
    ConfigParser,
    asa_config,
    ios_config,
    ip6tables,
    iptables,
    srx_config,
)
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers._textfsm import TemplateRef

__all__ = ["COMMANDS", "PLATFORMS", "CommandSpec", "find_command"]

Mapper = Callable[[dict[str, Any], DeviceContext], Iterator[Partial]]
K = FactKind


@dataclass(frozen=True)
class CommandSpec:
    """One command on one platform: its template, the fact kinds it yields, its mapper.

    ``group`` names commands that say the same thing in a brief and a detailed form
    (``lldp``, ``cdp``): when both files are there, the one with the higher ``rank`` wins.
    A spec with a ``parser`` reads the whole file with it instead of a template and mapper.
    """

    command: str
    template: TemplateRef | None
    kinds: tuple[FactKind, ...]
    mapper: Mapper | None
    aliases: tuple[str, ...] = ()
    group: str | None = None
    rank: int = 0
    parser: ConfigParser | None = None

    @property
    def file_stem(self) -> str:
        return self.command.replace(" ", "_")


def _config(
    command: str, parser: ConfigParser, *kinds: FactKind, aliases: tuple[str, ...] = ()
) -> CommandSpec:
    return CommandSpec(command, None, kinds or (K.FIREWALL,), None, aliases, parser=parser)


def _ntc(name: str) -> TemplateRef:
    return TemplateRef(name, "ntc")


def _own(name: str) -> TemplateRef:
    return TemplateRef(name, "own")


def _common(p: str) -> list[CommandSpec]:
    return [
        CommandSpec(
            "show version", _ntc(f"{p}_show_version.textfsm"), (K.DEVICE,), inv.map_version
        ),
        CommandSpec(
            "show lldp neighbors detail",
            _ntc(f"{p}_show_lldp_neighbors_detail.textfsm"),
            (K.LLDP,),
            obs.map_lldp,
            group="lldp",
            rank=1,
        ),
        CommandSpec(
            "show lldp neighbors",
            _ntc(f"{p}_show_lldp_neighbors.textfsm"),
            (K.LLDP,),
            obs.map_lldp_brief,
            group="lldp",
        ),
    ]


def _cdp(p: str) -> list[CommandSpec]:
    return [
        CommandSpec(
            "show cdp neighbors detail",
            _ntc(f"{p}_show_cdp_neighbors_detail.textfsm"),
            (K.CDP,),
            obs.map_cdp,
            group="cdp",
            rank=1,
        ),
        CommandSpec(
            "show cdp neighbors",
            _ntc(f"{p}_show_cdp_neighbors.textfsm"),
            (K.CDP,),
            obs.map_cdp_brief,
            group="cdp",
        ),
    ]


_IOS = [
    *_common("cisco_ios"),
    *_cdp("cisco_ios"),
    CommandSpec(
        "show interfaces",
        _ntc("cisco_ios_show_interfaces.textfsm"),
        (K.INTERFACES, K.IP_ADDRESSES),
        inv.map_interfaces_detail,
    ),
    CommandSpec(
        "show interfaces status",
        _ntc("cisco_ios_show_interfaces_status.textfsm"),
        (K.INTERFACES,),
        inv.map_interface_status,
        aliases=("show_interface_status",),
    ),
    CommandSpec(
        "show ip interface",
        _ntc("cisco_ios_show_ip_interface.textfsm"),
        (K.IP_ADDRESSES,),
        inv.map_ios_ip_interface,
    ),
    CommandSpec(
        "show ip interface brief",
        _ntc("cisco_ios_show_ip_interface_brief.textfsm"),
        (K.INTERFACES,),
        inv.map_ip_brief_status,
    ),
    CommandSpec(
        "show ip arp",
        _ntc("cisco_ios_show_ip_arp.textfsm"),
        (K.ARP,),
        obs.map_arp,
        aliases=("show_arp",),
    ),
    CommandSpec(
        "show mac address-table",
        _ntc("cisco_ios_show_mac-address-table.textfsm"),
        (K.MAC_TABLE,),
        obs.map_mac_table,
        aliases=("show_mac-address-table", "show_mac_address_table"),
    ),
    CommandSpec(
        "show vlan brief",
        _ntc("cisco_ios_show_vlan.textfsm"),
        (K.VLANS,),
        obs.map_vlan,
        aliases=("show_vlan",),
    ),
    CommandSpec(
        "show ip bgp summary",
        _ntc("cisco_ios_show_ip_bgp_summary.textfsm"),
        (K.BGP,),
        obs.map_bgp_summary,
        aliases=("show_bgp_summary", "show_bgp_ipv4_unicast_summary"),
    ),
]


def _routes(p: str, mapper: Mapper, *, vrf_all: str = "show ip route vrf all") -> list[CommandSpec]:
    """``show ip route`` (the default table) and its every-VRF form; both may be given."""
    template = _ntc(f"{p}_show_ip_route.textfsm")
    return [
        CommandSpec("show ip route", template, (K.ROUTES,), mapper),
        CommandSpec(vrf_all, template, (K.ROUTES,), mapper, aliases=("show_ip_route_vrf_all",)),
    ]


_IOS += [
    _config("show running-config", ios_config, aliases=("show_run", "show_running_config")),
    *_routes("cisco_ios", rt.map_ios_route, vrf_all="show ip route vrf *"),
]

_NXOS = [
    *_common("cisco_nxos"),
    *_cdp("cisco_nxos"),
    CommandSpec(
        "show interface",
        _ntc("cisco_nxos_show_interface.textfsm"),
        (K.INTERFACES, K.IP_ADDRESSES),
        inv.map_interfaces_detail,
        aliases=("show_interfaces",),
    ),
    CommandSpec(
        "show interface status",
        _ntc("cisco_nxos_show_interface_status.textfsm"),
        (K.INTERFACES,),
        inv.map_interface_status,
        aliases=("show_interfaces_status",),
    ),
    CommandSpec(
        "show ip interface vrf all",
        _ntc("cisco_nxos_show_ip_interface_vrf_all.textfsm"),
        (K.IP_ADDRESSES,),
        inv.map_nxos_ip_interface,
    ),
    CommandSpec(
        "show ip interface",
        _ntc("cisco_nxos_show_ip_interface.textfsm"),
        (K.IP_ADDRESSES,),
        inv.map_nxos_ip_interface,
    ),
    CommandSpec(
        "show ip interface brief",
        _ntc("cisco_nxos_show_ip_interface_brief.textfsm"),
        (K.INTERFACES,),
        inv.map_ip_brief_status,
    ),
    CommandSpec("show ip arp", _ntc("cisco_nxos_show_ip_arp.textfsm"), (K.ARP,), obs.map_arp),
    CommandSpec(
        "show mac address-table",
        _ntc("cisco_nxos_show_mac_address-table.textfsm"),
        (K.MAC_TABLE,),
        obs.map_mac_table,
        aliases=("show_mac_address_table", "show_mac-address-table"),
    ),
    CommandSpec(
        "show vlan",
        _ntc("cisco_nxos_show_vlan.textfsm"),
        (K.VLANS,),
        obs.map_vlan,
        aliases=("show_vlan_brief",),
    ),
    CommandSpec(
        "show ip bgp summary",
        _ntc("cisco_nxos_show_ip_bgp_summary.textfsm"),
        (K.BGP,),
        obs.map_bgp_summary,
        aliases=("show_bgp_summary",),
    ),
]

_EOS = [
    *_common("arista_eos"),
    CommandSpec(
        "show interfaces",
        _ntc("arista_eos_show_interfaces.textfsm"),
        (K.INTERFACES, K.IP_ADDRESSES),
        inv.map_interfaces_detail,
    ),
    CommandSpec(
        "show interfaces status",
        _ntc("arista_eos_show_interfaces_status.textfsm"),
        (K.INTERFACES,),
        inv.map_interface_status,
        aliases=("show_interface_status",),
    ),
    CommandSpec(
        "show ip interface brief",
        _ntc("arista_eos_show_ip_interface_brief.textfsm"),
        (K.IP_ADDRESSES,),
        inv.map_eos_ip_brief,
    ),
    CommandSpec(
        "show ip arp",
        _ntc("arista_eos_show_ip_arp.textfsm"),
        (K.ARP,),
        obs.map_arp,
        aliases=("show_arp",),
    ),
    CommandSpec(
        "show mac address-table",
        _ntc("arista_eos_show_mac_address-table.textfsm"),
        (K.MAC_TABLE,),
        obs.map_mac_table,
        aliases=("show_mac_address_table", "show_mac-address-table"),
    ),
    CommandSpec(
        "show vlan",
        _ntc("arista_eos_show_vlan.textfsm"),
        (K.VLANS,),
        obs.map_vlan,
        aliases=("show_vlan_brief",),
    ),
    CommandSpec(
        "show ip bgp summary",
        _ntc("arista_eos_show_ip_bgp_summary.textfsm"),
        (K.BGP,),
        obs.map_bgp_summary,
        aliases=("show_bgp_summary",),
    ),
]

_JUNOS = [
    CommandSpec(
        "show version", _ntc("juniper_junos_show_version.textfsm"), (K.DEVICE,), inv.map_version
    ),
    CommandSpec(
        "show interfaces",
        _own("juniper_junos_show_interfaces.textfsm"),
        (K.INTERFACES, K.IP_ADDRESSES),
        inv.map_junos_interfaces,
    ),
    CommandSpec(
        "show lldp neighbors interface",
        _own("juniper_junos_show_lldp_neighbors_interface.textfsm"),
        (K.LLDP,),
        obs.map_junos_lldp_detail,
        aliases=("show_lldp_neighbors_detail",),
        group="lldp",
        rank=1,
    ),
    CommandSpec(
        "show lldp neighbors",
        _ntc("juniper_junos_show_lldp_neighbors.textfsm"),
        (K.LLDP,),
        obs.map_lldp,
        group="lldp",
    ),
    CommandSpec(
        "show arp no-resolve",
        _ntc("juniper_junos_show_arp_no-resolve.textfsm"),
        (K.ARP,),
        obs.map_arp,
    ),
    CommandSpec("show vlans", _ntc("juniper_junos_show_vlans.textfsm"), (K.VLANS,), obs.map_vlan),
    CommandSpec(
        "show ethernet-switching interface",
        _own("juniper_junos_show_ethernet-switching_interface.textfsm"),
        (K.INTERFACES,),
        inv.map_junos_switching_interface,
        aliases=("show_ethernet-switching_interfaces",),
    ),
    CommandSpec(
        "show ethernet-switching table",
        _own("juniper_junos_show_ethernet-switching_table.textfsm"),
        (K.MAC_TABLE,),
        obs.map_mac_table,
    ),
    CommandSpec(
        "show bgp summary",
        _own("juniper_junos_show_bgp_summary.textfsm"),
        (K.BGP,),
        obs.map_bgp_summary,
    ),
]

_NXOS += _routes("cisco_nxos", rt.map_nxos_route)
_EOS += _routes("arista_eos", rt.map_eos_route)
_JUNOS.append(
    CommandSpec(
        "show route", _own("juniper_junos_show_route.textfsm"), (K.ROUTES,), rt.map_junos_route
    )
)
_JUNOS.append(
    _config(
        "show configuration security | display set",
        srx_config,
        aliases=(
            "show_configuration_security_display_set",
            "show_configuration_|_display_set",
            "show_configuration_display_set",
        ),
    )
)

_ASA = [
    CommandSpec(
        "show version", _ntc("cisco_asa_show_version.textfsm"), (K.DEVICE,), inv.map_version
    ),
    _config(
        "show running-config",
        asa_config,
        K.FIREWALL,
        K.INTERFACES,
        K.IP_ADDRESSES,
        aliases=("show_run", "show_running_config"),
    ),
]

_LINUX = [_config("iptables-save", iptables), _config("ip6tables-save", ip6tables)]

#: Platform -> the commands understood there.
COMMANDS: dict[str, tuple[CommandSpec, ...]] = {
    "cisco_ios": tuple(_IOS),
    "cisco_nxos": tuple(_NXOS),
    "arista_eos": tuple(_EOS),
    "juniper_junos": tuple(_JUNOS),
    "cisco_asa": tuple(_ASA),
    "linux": tuple(_LINUX),
}
PLATFORMS = tuple(COMMANDS)


def find_command(platform: str, file_stem: str) -> CommandSpec | None:
    """The command a file (name without ``.txt``) holds on ``platform``, if understood."""
    stem = file_stem.lower()
    for spec in COMMANDS.get(platform, ()):
        if stem == spec.file_stem or stem in spec.aliases:
            return spec
    return None
