"""How discovered things are spelled in NetBox: platform names and interface types."""

from __future__ import annotations

__all__ = ["PLATFORM_NAMES", "interface_type"]

PLATFORM_NAMES = {
    "cisco_ios": "Cisco IOS",
    "cisco_xe": "Cisco IOS-XE",
    "cisco_nxos": "Cisco NX-OS",
    "cisco_xr": "Cisco IOS-XR",
    "arista_eos": "Arista EOS",
    "juniper_junos": "Juniper Junos",
}
_VIRTUAL = ("loopback", "lo", "vlan", "irb", "bdi", "tunnel", "null", "vl")
_LAG = ("port-channel", "ae", "bundle-ether", "po")
_BY_SPEED = {
    100: "100base-tx",
    1000: "1000base-t",
    10000: "10gbase-x-sfpp",
    25000: "25gbase-x-sfp28",
    40000: "40gbase-x-qsfpp",
    100000: "100gbase-x-qsfp28",
    400000: "400gbase-x-qsfpdd",
}


def interface_type(name: str, speed_mbps: int | None) -> str:
    lower = name.lower()
    stem = lower.rstrip("0123456789/.:")
    if "." in lower or stem in _VIRTUAL or lower.startswith(("loopback", "vlan", "tunnel")):
        return "virtual"
    if stem in _LAG or lower.startswith(("port-channel", "bundle-ether")):
        return "lag"
    return _BY_SPEED.get(speed_mbps or 0, "other")
