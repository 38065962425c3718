"""Cisco ASA and Linux hosts: configurations and packet filters."""

from __future__ import annotations

from network_discovery.model import FactKind as K
from network_discovery.parsers._configs import asa_config, host_json, ip6tables, iptables
from network_discovery.parsers._spec import CommandSpec, config_spec, version_spec

__all__ = ["ASA_SPECS", "LINUX_SPECS"]

ASA_SPECS: list[CommandSpec] = [
    version_spec("cisco_asa"),
    config_spec(
        "show running-config",
        asa_config,
        K.FIREWALL,
        K.INTERFACES,
        K.IP_ADDRESSES,
        aliases=("show_run", "show_running_config"),
    ),
]

LINUX_SPECS: list[CommandSpec] = [
    config_spec("iptables-save", iptables),
    config_spec("ip6tables-save", ip6tables),
    config_spec(
        "host interfaces",
        host_json,
        K.DEVICE,
        K.INTERFACES,
        K.IP_ADDRESSES,
        K.ROUTES,
        aliases=("host_interfaces",),
        formats=("json",),
    ),
]
