"""Juniper Junos: the commands read, and how (text, ``| display json`` and ``| display xml``)."""

from __future__ import annotations

from network_discovery.model import FactKind as K
from network_discovery.parsers import _json_junos as js
from network_discovery.parsers import _map_inventory as inv
from network_discovery.parsers import _map_observations as obs
from network_discovery.parsers import _map_routes as rt
from network_discovery.parsers._configs import junos_config, srx_config
from network_discovery.parsers._spec import CommandSpec, config_spec, ntc, own

__all__ = ["SPECS"]

SPECS: list[CommandSpec] = [
    CommandSpec(
        "show version",
        ntc("juniper_junos_show_version.textfsm"),
        (K.DEVICE,),
        inv.map_version,
        json=js.junos_version,
    ),
    # read as structured output only (| display json, | display xml)
    CommandSpec(
        "show system information",
        None,
        (K.DEVICE,),
        inv.map_version,
        json=js.junos_system_information,
    ),
    CommandSpec(
        "show chassis hardware",
        None,
        (K.DEVICE,),
        inv.map_version,
        json=js.junos_chassis_hardware,
    ),
    CommandSpec(
        "show interfaces",
        own("juniper_junos_show_interfaces.textfsm"),
        (K.INTERFACES, K.IP_ADDRESSES),
        inv.map_junos_interfaces,
        json=js.junos_interfaces,
    ),
    # "show lldp neighbors detail" prints the blocks of "... interface <name>" for every port
    CommandSpec(
        "show lldp neighbors interface",
        own("juniper_junos_show_lldp_neighbors_interface.textfsm"),
        (K.LLDP,),
        obs.map_junos_lldp_detail,
        aliases=("show_lldp_neighbors_detail",),
        group="lldp",
        rank=1,
        json=js.junos_lldp_detail,
        variants=("show lldp neighbors detail",),
    ),
    CommandSpec(
        "show lldp neighbors",
        ntc("juniper_junos_show_lldp_neighbors.textfsm"),
        (K.LLDP,),
        obs.map_lldp,
        group="lldp",
        json=js.junos_lldp,
    ),
    CommandSpec(
        "show arp no-resolve",
        ntc("juniper_junos_show_arp_no-resolve.textfsm"),
        (K.ARP,),
        obs.map_arp,
        json=js.junos_arp,
    ),
    # the text adds a host-name column the no-resolve template does not read; the JSON and
    # XML are those of "show arp no-resolve" (with a hostname leaf)
    CommandSpec("show arp", None, (K.ARP,), obs.map_arp, json=js.junos_arp),
    CommandSpec(
        "show vlans",
        ntc("juniper_junos_show_vlans.textfsm"),
        (K.VLANS,),
        obs.map_vlan,
        json=js.junos_vlans,
    ),
    CommandSpec("show vlans detail", None, (K.VLANS,), obs.map_vlan, json=js.junos_vlans),
    CommandSpec(
        "show ethernet-switching interface",
        own("juniper_junos_show_ethernet-switching_interface.textfsm"),
        (K.INTERFACES,),
        inv.map_junos_switching_interface,
        aliases=("show_ethernet-switching_interfaces",),
    ),
    CommandSpec(
        "show ethernet-switching table",
        own("juniper_junos_show_ethernet-switching_table.textfsm"),
        (K.MAC_TABLE,),
        obs.map_mac_table,
        json=js.junos_mac_table,
    ),
    CommandSpec(
        "show ethernet-switching table detail",
        None,
        (K.MAC_TABLE,),
        obs.map_mac_table,
        json=js.junos_mac_table,
        variants=("show ethernet-switching table extensive",),
    ),
    CommandSpec(
        "show bgp summary",
        own("juniper_junos_show_bgp_summary.textfsm"),
        (K.BGP,),
        obs.map_bgp_summary,
        json=js.junos_bgp_summary,
    ),
    CommandSpec(
        "show route",
        own("juniper_junos_show_route.textfsm"),
        (K.ROUTES,),
        rt.map_junos_route,
        json=js.junos_route,
    ),
    config_spec(
        "show configuration security | display set",
        srx_config,
        aliases=("show_configuration_security_display_set",),
    ),
    # the whole configuration, curly or set: the facts show output gives, and an SRX's
    # policy; VLANs are not claimed (the default VLAN is there without being configured)
    config_spec(
        "show configuration",
        junos_config,
        K.DEVICE,
        K.INTERFACES,
        K.IP_ADDRESSES,
        K.ROUTES,
        K.FIREWALL,
        aliases=("show_configuration_|_display_set", "show_configuration_display_set"),
        variants=("show configuration | display set",),
    ),
]
