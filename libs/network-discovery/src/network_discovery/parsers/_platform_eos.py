"""Arista EOS: the commands read, and how (text and ``| json`` / eAPI)."""

from __future__ import annotations

from network_discovery.model import FactKind as K
from network_discovery.parsers import _json_eos as js
from network_discovery.parsers import _map_eos as eos
from network_discovery.parsers import _map_inventory as inv
from network_discovery.parsers import _map_observations as obs
from network_discovery.parsers import _map_routes as rt
from network_discovery.parsers._configs import eos_config
from network_discovery.parsers._spec import (
    CommandSpec,
    config_spec,
    lldp_specs,
    ntc,
    own,
    route_specs,
)

__all__ = ["SPECS"]

SPECS: list[CommandSpec] = [
    CommandSpec(
        "show version",
        own("arista_eos_show_version.textfsm"),
        (K.DEVICE,),
        inv.map_version,
        json=js.eos_version,
    ),
    CommandSpec(
        "show inventory",
        ntc("arista_eos_show_inventory.textfsm"),
        (K.DEVICE,),
        inv.map_inventory,
        json=js.eos_inventory,
    ),
    *lldp_specs("arista_eos", detail_json=js.eos_lldp, brief_json=js.eos_lldp_brief),
    CommandSpec(
        "show interfaces",
        ntc("arista_eos_show_interfaces.textfsm"),
        (K.INTERFACES, K.IP_ADDRESSES),
        eos.map_eos_interfaces,
        json=js.eos_interfaces,
    ),
    CommandSpec(
        "show interfaces status",
        ntc("arista_eos_show_interfaces_status.textfsm"),
        (K.INTERFACES,),
        inv.map_interface_status,
        aliases=("show_interface_status",),
        json=js.eos_interfaces_status,
    ),
    # every VRF's interfaces, each naming its VRF; no text template: JSON only
    CommandSpec(
        "show ip interface",
        None,
        (K.IP_ADDRESSES,),
        inv.map_ios_ip_interface,
        json=js.eos_ip_interface,
        variants=("show ip interface vrf all",),
    ),
    CommandSpec(
        "show ip interface brief",
        ntc("arista_eos_show_ip_interface_brief.textfsm"),
        (K.IP_ADDRESSES,),
        inv.map_eos_ip_brief,
        json=js.eos_ip_brief,
    ),
    CommandSpec(
        "show ip arp",
        ntc("arista_eos_show_ip_arp.textfsm"),
        (K.ARP,),
        obs.map_arp,
        aliases=("show_arp",),
        json=js.eos_arp,
        variants=("show arp", "show arp vrf all", "show ip arp vrf all"),
    ),
    CommandSpec(
        "show mac address-table",
        ntc("arista_eos_show_mac_address-table.textfsm"),
        (K.MAC_TABLE,),
        obs.map_mac_table,
        aliases=("show_mac_address_table", "show_mac-address-table"),
        json=js.eos_mac,
        variants=(
            "show mac address-table unicast",
            "show mac-address-table",
            "show mac-address-table unicast",
        ),
    ),
    CommandSpec(
        "show vlan",
        ntc("arista_eos_show_vlan.textfsm"),
        (K.VLANS,),
        obs.map_vlan,
        aliases=("show_vlan_brief",),
        json=js.eos_vlan,
        variants=("show vlan brief",),
    ),
    CommandSpec(
        "show ip bgp summary",
        ntc("arista_eos_show_ip_bgp_summary.textfsm"),
        (K.BGP,),
        obs.map_bgp_summary,
        aliases=("show_bgp_summary",),
    ),
    *route_specs("arista_eos", rt.map_eos_route, json=js.eos_routes),
    # VLANs are not among the kinds claimed: VLAN 1 is there without being configured
    config_spec(
        "show running-config",
        eos_config,
        K.DEVICE,
        K.INTERFACES,
        K.IP_ADDRESSES,
        K.ROUTES,
        aliases=("show_run", "show_running_config"),
        variants=("show startup-config",),
    ),
]
