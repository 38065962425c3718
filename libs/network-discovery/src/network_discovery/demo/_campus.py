"""The campus devices: a Nexus core pair, a Catalyst distribution pair, twelve access
switches in two buildings (ten Catalyst, two Juniper EX), a wireless controller and an
isolated lab switch (see :mod:`._campus_links` for how they are cabled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from network_discovery.demo._builder import DemoNet
from network_discovery.demo._style import OUI, mac_for

__all__ = [
    "ACCESS",
    "AP_DESCRIPTION",
    "PHONE_DESCRIPTION",
    "VLAN_NAMES",
    "Access",
    "add_campus_devices",
]

IOS_XE = (
    "Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), "
    "Version 17.9.4a, RELEASE SOFTWARE (fc3)"
)
NX_OS = "Cisco Nexus Operating System (NX-OS) Software 10.3(4a)"
EX4300 = "Juniper Networks, Inc. ex4300-48p Ethernet Switch, kernel JUNOS 21.4R3-S5"
C9800 = (
    "Cisco IOS Software [Cupertino], C9800 Software (C9800_IOSXE-K9), "
    "Version 17.9.4a, RELEASE SOFTWARE (fc3)"
)
PHONE_DESCRIPTION = "Cisco IP Phone 8865, V1, sip88xx.14-2-1-0201-9"
AP_DESCRIPTION = "Cisco AP Software, C9130AXI-B, 17.9.4.27"

_CORE_KINDS = ("device", "interfaces", "ip_addresses", "lldp", "cdp", "arp")
_DIST_KINDS = ("device", "interfaces", "ip_addresses", "vlans", "lldp", "cdp", "arp", "mac_table")
_ACCESS_KINDS = ("device", "interfaces", "ip_addresses", "vlans", "lldp", "cdp", "mac_table")
_EX_KINDS = ("device", "interfaces", "ip_addresses", "vlans", "lldp", "mac_table")


@dataclass(frozen=True)
class Access:
    """One access switch: where it is and how its ports are named."""

    hostname: str
    n: int  # 1..12, also its port number on the distribution switches
    building: str  # "a" or "b"
    junos: bool = False

    @property
    def net(self) -> int:  # second octet of the building's user subnets
        return 1 if self.building == "a" else 2

    def vlan(self, base: int) -> int:  # 10 data, 20 voice, 30 access points
        return self.net * 100 + base

    def port(self, p: int) -> str:  # p counts from 1, as on the faceplate
        if self.junos:
            return f"ge-0/0/{p - 1}"
        kind = "GigabitEthernet" if self.building == "a" else "TwoGigabitEthernet"
        return f"{kind}1/0/{p}"

    def uplink(self, dist: int) -> str:
        return f"xe-0/2/{dist - 1}" if self.junos else f"TenGigabitEthernet1/1/{dist}"


ACCESS = tuple(
    [Access(f"hq-a-acc-{i:02d}", i, "a") for i in range(1, 7)]
    + [Access(f"hq-b-acc-{i:02d}", 6 + i, "b", junos=i > 4) for i in range(1, 7)]
)
VLAN_NAMES = {99: "MGMT", 110: "A-DATA", 120: "A-VOICE", 130: "A-AP", 140: "WIFI-CLIENTS"}
VLAN_NAMES |= {150: "OLD-GUEST", 210: "B-DATA", 220: "B-VOICE", 230: "B-AP"}


def _cisco(net: DemoNet, hostname: str, i: int, model: str, **fields: Any) -> None:
    net.device(
        hostname,
        chassis=mac_for(OUI["cisco"], 0x100000 + i * 0x100),
        vendor="Cisco",
        model=model,
        serial=f"FOC2{318 + i:03d}X{i:02d}K",
        site="hq",
        tenant="corp",
        **fields,
    )


def add_campus_devices(net: DemoNet) -> None:
    for i in (1, 2):
        serial = f"FDO2{410 + i}0K{i}A"
        net.device(
            f"hq-core-0{i}",
            kinds=_CORE_KINDS,
            chassis=mac_for(OUI["cisco"], 0x100000 + i * 0x100),
            system_description=NX_OS,
            cdp_id=f"hq-core-0{i}({serial})",
            vendor="Cisco",
            platform="cisco_nxos",
            model="N9K-C93180YC-FX",
            os_version="10.3(4a)",
            serial=serial,
            role="core",
            site="hq",
            tenant="corp",
            rack="A-MDF" if i == 1 else "B-MDF",
            management_ip=f"10.255.0.{i}",
            criticality="critical",
        )
    for i in (1, 2):
        _cisco(
            net,
            f"hq-dist-0{i}",
            10 + i,
            "C9500-24Y4C",
            kinds=_DIST_KINDS,
            system_description=IOS_XE,
            cdp_id=f"hq-dist-0{i}.hq.example.net",
            platform="cisco_ios",
            os_version="17.9.4a",
            role="distribution",
            rack="A-MDF" if i == 1 else "B-MDF",
            management_ip=f"10.255.0.{10 + i}",
            criticality="high",
        )
    for acc in ACCESS:
        rack = f"{acc.building.upper()}-IDF{(acc.n - 1) % 6 // 2 + 1}"
        if acc.junos:
            missing_version = acc.hostname == "hq-b-acc-06"  # on purpose: a hygiene finding
            net.device(
                acc.hostname,
                kinds=_EX_KINDS,
                chassis=mac_for(OUI["juniper"], 0x200000 + acc.n * 0x100),
                system_description=EX4300.rsplit(",", 1)[0] if missing_version else EX4300,
                vendor="Juniper",
                platform="juniper_junos",
                model="EX4300-48P",
                os_version=None if missing_version else "21.4R3-S5",
                serial=f"PE37{acc.n:02d}0{acc.n * 7 % 10}812",
                role="access",
                site="hq",
                tenant="corp",
                rack=rack,
                management_ip=f"10.0.99.{10 + acc.n}",
                criticality="medium",
            )
            continue
        _cisco(
            net,
            acc.hostname,
            20 + acc.n,
            "C9300-48P" if acc.building == "a" else "C9300-48UXM",
            kinds=_ACCESS_KINDS,
            system_description=IOS_XE,
            cdp_id=f"{acc.hostname}.hq.example.net",
            platform="cisco_ios",
            os_version="17.9.4a",
            role="access",
            rack=rack,
            management_ip=f"10.0.99.{10 + acc.n}",
            criticality="medium",
        )
    _cisco(
        net,
        "hq-wlc-01",
        40,
        "C9800-40-K9",
        kinds=("device", "interfaces", "ip_addresses", "vlans", "lldp", "cdp"),
        system_description=C9800,
        cdp_id="hq-wlc-01.hq.example.net",
        platform="cisco_ios",
        os_version="17.9.4a",
        role="wireless_controller",
        rack="A-MDF",
        management_ip="10.0.99.5",
        criticality="high",
    )
    _cisco(
        net,
        "hq-lab-01",
        41,
        "C9200L-24P-4G",
        kinds=("device", "interfaces", "ip_addresses", "lldp"),
        system_description=IOS_XE.replace("17.9.4a", "17.6.5"),
        platform="cisco_ios",
        os_version="17.6.5",
        role="access",
        rack="A-LAB",
        criticality="low",
    )
