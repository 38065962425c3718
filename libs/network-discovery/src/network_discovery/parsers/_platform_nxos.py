"""Cisco NX-OS: the commands read, and how (text and ``| json`` / ``| json native``)."""

from __future__ import annotations

import re
from typing import Any

from network_discovery.model import FactKind as K
from network_discovery.parsers import _json_nxos as js
from network_discovery.parsers import _map_inventory as inv
from network_discovery.parsers import _map_nxos as nx
from network_discovery.parsers import _map_observations as obs
from network_discovery.parsers import _map_routes as rt
from network_discovery.parsers._configs import nxos_config
from network_discovery.parsers._spec import (
    CommandSpec,
    cdp_specs,
    config_spec,
    lldp_specs,
    ntc,
    route_specs,
)

__all__ = ["SPECS"]

#: "  cisco Nexus9000 C9300v Chassis": ntc's template keeps one word of it.
_CHASSIS_LINE = re.compile(r"^\s*cisco\s+(?P<chassis>.*?\b[Cc]hassis\b.*?)\s*$", re.M)


def _chassis(text: str) -> dict[str, Any]:
    found = _CHASSIS_LINE.search(text)
    return {"chassis": found["chassis"]} if found else {}


SPECS: list[CommandSpec] = [
    CommandSpec(
        "show version",
        ntc("cisco_nxos_show_version.textfsm"),
        (K.DEVICE,),
        inv.map_version,
        json=js.nxos_version,
        enrich=_chassis,
    ),
    CommandSpec(
        "show inventory",
        ntc("cisco_nxos_show_inventory.textfsm"),
        (K.DEVICE,),
        inv.map_inventory,
        json=js.nxos_inventory,
    ),
    *lldp_specs("cisco_nxos", detail_json=js.nxos_lldp, brief_json=js.nxos_lldp_brief),
    *cdp_specs("cisco_nxos", detail_json=js.nxos_cdp, brief_json=js.nxos_cdp_brief),
    CommandSpec(
        "show interface",
        ntc("cisco_nxos_show_interface.textfsm"),
        (K.INTERFACES, K.IP_ADDRESSES),
        nx.map_nxos_interface,
        aliases=("show_interfaces",),
        json=js.nxos_interface,
    ),
    CommandSpec(
        "show interface brief",
        ntc("cisco_nxos_show_interface_brief.textfsm"),
        (K.INTERFACES,),
        nx.map_nxos_interface_brief,
        json=js.nxos_interface_brief,
    ),
    CommandSpec(
        "show interface status",
        ntc("cisco_nxos_show_interface_status.textfsm"),
        (K.INTERFACES,),
        inv.map_interface_status,
        aliases=("show_interfaces_status",),
    ),
    CommandSpec(
        "show ip interface vrf all",
        ntc("cisco_nxos_show_ip_interface_vrf_all.textfsm"),
        (K.IP_ADDRESSES,),
        inv.map_nxos_ip_interface,
        json=js.nxos_ip_interface,
        variants=("show ip interface vrf <name>",),  # one VRF prints the same layout
    ),
    CommandSpec(
        "show ip interface",
        ntc("cisco_nxos_show_ip_interface.textfsm"),
        (K.IP_ADDRESSES,),
        inv.map_nxos_ip_interface,
        json=js.nxos_ip_interface,
    ),
    CommandSpec(
        "show ip interface brief",
        ntc("cisco_nxos_show_ip_interface_brief.textfsm"),
        (K.INTERFACES,),
        inv.map_ip_brief_status,
    ),
    CommandSpec(
        "show ip arp",
        ntc("cisco_nxos_show_ip_arp.textfsm"),
        (K.ARP,),
        obs.map_arp,
        group="arp",
        json=js.nxos_arp,
        variants=("show ip arp vrf all", "show ip arp detail"),
    ),
    CommandSpec(  # its own template: later releases add a "VRF Name" column to the text
        "show ip arp detail vrf all",
        ntc("cisco_nxos_show_ip_arp_detail_vrf_all.textfsm"),
        (K.ARP,),
        obs.map_arp,
        group="arp",
        rank=1,
        json=js.nxos_arp,
    ),
    CommandSpec(
        "show mac address-table",
        ntc("cisco_nxos_show_mac_address-table.textfsm"),
        (K.MAC_TABLE,),
        obs.map_mac_table,
        aliases=("show_mac_address_table", "show_mac-address-table"),
        json=js.nxos_mac,
    ),
    CommandSpec(
        "show vlan",
        ntc("cisco_nxos_show_vlan.textfsm"),
        (K.VLANS,),
        obs.map_vlan,
        aliases=("show_vlan_brief",),
        json=js.nxos_vlan,
        variants=("show vlan brief",),
    ),
    CommandSpec(
        "show ip bgp summary",
        ntc("cisco_nxos_show_ip_bgp_summary.textfsm"),
        (K.BGP,),
        obs.map_bgp_summary,
        aliases=("show_bgp_summary",),
    ),
    *route_specs(
        "cisco_nxos", rt.map_nxos_route, vrf_one="show ip route vrf <name>", json=js.nxos_route
    ),
    # VLANs are not among the kinds claimed, as on IOS: VTP may keep them out of it
    config_spec(
        "show running-config",
        nxos_config,
        K.DEVICE,
        K.INTERFACES,
        K.IP_ADDRESSES,
        K.ROUTES,
        aliases=("show_run", "show_running_config"),
        variants=("show startup-config",),
    ),
]
