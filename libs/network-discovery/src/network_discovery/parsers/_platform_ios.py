"""Cisco IOS and IOS-XE: the commands read, and how."""

from __future__ import annotations

from network_discovery.model import FactKind as K
from network_discovery.parsers import _map_inventory as inv
from network_discovery.parsers import _map_observations as obs
from network_discovery.parsers import _map_routes as rt
from network_discovery.parsers._configs import ios_config
from network_discovery.parsers._spec import (
    CommandSpec,
    cdp_specs,
    config_spec,
    lldp_specs,
    ntc,
    route_specs,
    version_spec,
)

__all__ = ["SPECS"]

SPECS: list[CommandSpec] = [
    version_spec("cisco_ios"),
    CommandSpec(
        "show inventory",
        ntc("cisco_ios_show_inventory.textfsm"),
        (K.DEVICE,),
        inv.map_inventory,
    ),
    *lldp_specs("cisco_ios"),
    *cdp_specs("cisco_ios"),
    CommandSpec(
        "show interfaces",
        ntc("cisco_ios_show_interfaces.textfsm"),
        (K.INTERFACES, K.IP_ADDRESSES),
        inv.map_interfaces_detail,
    ),
    CommandSpec(
        "show interfaces status",
        ntc("cisco_ios_show_interfaces_status.textfsm"),
        (K.INTERFACES,),
        inv.map_interface_status,
        aliases=("show_interface_status",),
    ),
    CommandSpec(
        "show ip interface",
        ntc("cisco_ios_show_ip_interface.textfsm"),
        (K.IP_ADDRESSES,),
        inv.map_ios_ip_interface,
    ),
    CommandSpec(
        "show ip interface brief",
        ntc("cisco_ios_show_ip_interface_brief.textfsm"),
        (K.INTERFACES,),
        inv.map_ip_brief_status,
    ),
    CommandSpec(
        "show ip arp",
        ntc("cisco_ios_show_ip_arp.textfsm"),
        (K.ARP,),
        obs.map_arp,
        aliases=("show_arp",),
        variants=("show arp", "show ip arp vrf *", "show ip arp vrf <name>"),
    ),
    CommandSpec(
        "show mac address-table",
        ntc("cisco_ios_show_mac-address-table.textfsm"),
        (K.MAC_TABLE,),
        obs.map_mac_table,
        aliases=("show_mac-address-table", "show_mac_address_table"),
        variants=("show mac-address-table", "show mac address-table dynamic"),
    ),
    CommandSpec(
        "show vlan brief",
        ntc("cisco_ios_show_vlan.textfsm"),
        (K.VLANS,),
        obs.map_vlan,
        aliases=("show_vlan",),
        variants=("show vlan",),
    ),
    CommandSpec(
        "show ip bgp summary",
        ntc("cisco_ios_show_ip_bgp_summary.textfsm"),
        (K.BGP,),
        obs.map_bgp_summary,
        aliases=("show_bgp_summary", "show_bgp_ipv4_unicast_summary"),
        variants=("show bgp summary", "show bgp ipv4 unicast summary"),
    ),
    # VLANs are not among the kinds claimed: a switch in VTP server or client mode keeps
    # them out of its configuration, so a configuration without "vlan" blocks does not say
    # the device has none (one that has them still yields them).
    config_spec(
        "show running-config",
        ios_config,
        K.DEVICE,
        K.INTERFACES,
        K.IP_ADDRESSES,
        K.ROUTES,
        K.FIREWALL,
        aliases=("show_run", "show_running_config"),
        variants=("show startup-config",),
    ),
    *route_specs(
        "cisco_ios",
        rt.map_ios_route,
        vrf_all="show ip route vrf *",
        vrf_one="show ip route vrf <name>",
    ),
]
