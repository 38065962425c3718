"""How each platform prints names and MACs, so the demo reads like real device output.

The demo snapshot is written the way collectors hand facts over: a Cisco MAC table says
``Gi1/0/5`` and ``f8bc.1200.0105``, a Junos one says ``ge-0/0/4.0`` and ``f8:bc:12:00:01:05``,
Arista LLDP says ``Et49/1``. Loading the snapshot normalises all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OUI", "STYLES", "Style", "hsrp_mac", "mac_for"]

_IOS_SHORT = (
    ("TwentyFiveGigE", "Twe"),
    ("TwoGigabitEthernet", "Tw"),
    ("TenGigabitEthernet", "Te"),
    ("HundredGigE", "Hu"),
    ("GigabitEthernet", "Gi"),
    ("Port-channel", "Po"),
)
_NXOS_SHORT = (("Ethernet", "Eth"), ("port-channel", "Po"), ("loopback", "Lo"))
_EOS_SHORT = (("Ethernet", "Et"), ("Port-Channel", "Po"), ("Management", "Ma"))


def _shorten(name: str, table: tuple[tuple[str, str], ...]) -> str:
    for long, short in table:
        if name.startswith(long):
            return short + name[len(long) :]
    return name


@dataclass(frozen=True)
class Style:
    """The notations of one platform."""

    platform: str
    short_table: tuple[tuple[str, str], ...] = ()
    mac_notation: str = "cisco"  # cisco (aabb.ccdd.eeff) or colon (aa:bb:cc:dd:ee:ff)
    lldp_local_short: bool = True  # LLDP output names the local port in short form
    lldp_port_id_short: bool = False  # the port id it advertises is the short form
    mac_table_unit: bool = False  # Junos ethernet-switching table shows ge-0/0/1.0
    fqdn: str | None = None  # domain appended to the LLDP system name it advertises

    def short(self, name: str) -> str:
        return _shorten(name, self.short_table)

    def lldp_local(self, name: str) -> str:
        return self.short(name) if self.lldp_local_short else name

    def port_id(self, name: str) -> str:
        return self.short(name) if self.lldp_port_id_short else name

    def mac_table_port(self, name: str) -> str:
        if self.mac_table_unit and "/" in name:
            return name + ".0"
        return self.short(name)

    def mac(self, mac: str) -> str:
        digits = mac.replace(":", "")
        if self.mac_notation == "cisco":
            return ".".join(digits[i : i + 4] for i in range(0, 12, 4))
        return mac

    def system_name(self, hostname: str) -> str:
        return f"{hostname}.{self.fqdn}" if self.fqdn else hostname


STYLES: dict[str, Style] = {
    "cisco_ios": Style("cisco_ios", _IOS_SHORT, lldp_port_id_short=True, fqdn="hq.example.net"),
    "cisco_nxos": Style("cisco_nxos", _NXOS_SHORT),
    "arista_eos": Style("arista_eos", _EOS_SHORT, fqdn="dc1.example.net"),
    "juniper_junos": Style(
        "juniper_junos", mac_notation="colon", lldp_local_short=False, mac_table_unit=True
    ),
    "paloalto_panos": Style("paloalto_panos", mac_notation="colon", lldp_local_short=False),
}


#: MAC prefixes the demo draws addresses from, by kind of device.
OUI = {
    "cisco": "00:00:0c",
    "arista": "00:1c:73",
    "juniper": "00:05:85",
    "paloalto": "00:1b:17",
    "vmware": "00:50:56",
    "pc": "d4:be:d9",
    "printer": "3c:d9:2b",
    "phone": "00:eb:d5",
    "polycom": "00:04:f2",
    "ap": "70:1f:53",
    "wifi": "a4:83:e7",
    "server": "b8:ca:3a",
    "isp": "00:90:69",
}
HSRP_PREFIX = "00:00:0c:07:ac"


def hsrp_mac(group: int) -> str:
    """The virtual MAC of HSRP version 1 group ``group``."""
    return f"{HSRP_PREFIX}:{group & 0xFF:02x}"


def mac_for(oui: str, n: int) -> str:
    """A deterministic MAC under a vendor prefix: ``oui`` plus ``n`` in the last three bytes."""
    tail = f"{n & 0xFFFFFF:06x}"
    return f"{oui}:{tail[0:2]}:{tail[2:4]}:{tail[4:6]}"
