"""Who is plugged into the campus: desktops, printers, IP phones (with a PC behind each),
access points, and wireless clients bridged in by the controller.

Phones and access points speak LLDP (and CDP to Catalyst switches), so they show up as
neighbours that nobody collected. Desktops and printers are silent: they are known only from
MAC tables and, when they have talked recently, from the ARP table of their gateway.
"""

from __future__ import annotations

from network_discovery.demo._builder import DemoNet
from network_discovery.demo._campus import ACCESS, AP_DESCRIPTION, PHONE_DESCRIPTION, Access
from network_discovery.demo._style import OUI, mac_for

__all__ = ["add_campus_hosts"]

_PORTS = 24  # the demo lists the first 24 ports of each access switch
_NO_DESCRIPTION = ("hq-a-acc-03", 17)  # on purpose: a hygiene finding


class _Addresses:
    """Hands out host addresses per subnet, in order."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, prefix: str) -> str:
        n = self.next.get(prefix, 20)
        self.next[prefix] = n + 1
        return f"{prefix}.{n}"


def _host(
    net: DemoNet, acc: Access, port: str, vlan: int, mac: str, ip: str | None, v6: str | None
) -> None:
    """A host behind an access port: MAC tables along its path, ARP on its gateway."""
    gateway = "hq-dist-01" if acc.building == "a" else "hq-dist-02"
    net.learn(acc.hostname, port, vlan, mac)
    net.learn("hq-dist-01", f"TwentyFiveGigE1/0/{acc.n}", vlan, mac)
    net.learn("hq-dist-02", "Port-channel1", vlan, mac)
    if ip is not None:
        net.arp_entry(gateway, f"Vlan{vlan}", ip, mac)
    if v6 is not None:
        net.arp_entry(gateway, f"Vlan{vlan}", v6, mac)


def _phone(net: DemoNet, acc: Access, port: str, p: int, ips: _Addresses) -> None:
    mac = mac_for(OUI["phone"], acc.n * 16 + p)
    ip = ips.take(f"10.{acc.net}.20")
    style = net.style(acc.hostname)
    if acc.hostname == "hq-b-acc-05" and p == 1:
        # A phone that sends no system name: known only by its chassis id.
        mac = mac_for(OUI["polycom"], 0x4501)
        net.seen(
            acc.hostname,
            port,
            remote_chassis_id=style.mac(mac),
            remote_port="1",
            remote_management_address=ip,
            capabilities=("bridge", "telephone"),
            remote_description="Polycom;VVX-VVX_450;3111-49450-001,1;SIP/6.4.3.5018",
        )
    else:
        name = "SEP" + mac.replace(":", "").upper()
        net.seen(
            acc.hostname,
            port,
            remote_system_name=name,
            remote_port="Port 1",
            remote_chassis_id=style.mac(mac),
            remote_management_address=ip,
            remote_description=PHONE_DESCRIPTION,
            capabilities=("bridge", "telephone"),
        )
        if not acc.junos:
            net.seen(
                acc.hostname,
                port,
                protocol="cdp",
                remote_system_name=name,
                remote_port="Port 1",
                remote_platform="Cisco IP Phone 8865",
                remote_management_address=ip,
                capabilities=("host", "phone"),
            )
    _host(net, acc, port, acc.vlan(20), mac, ip, None)


def _access_point(net: DemoNet, acc: Access, port: str, ips: _Addresses) -> None:
    mac = mac_for(OUI["ap"], acc.n * 16)
    ip = ips.take(f"10.{acc.net}.30")
    name = f"hq-{acc.building}-ap-{acc.n:02d}"
    net.seen(
        acc.hostname,
        port,
        remote_system_name=name,
        remote_port="GigabitEthernet0",
        remote_chassis_id=net.style(acc.hostname).mac(mac),
        remote_management_address=ip,
        remote_description=AP_DESCRIPTION,
        capabilities=("bridge", "router", "wlan_access_point"),
    )
    if not acc.junos:
        net.seen(
            acc.hostname,
            port,
            protocol="cdp",
            remote_system_name=name,
            remote_port="GigabitEthernet0",
            remote_platform="cisco C9130AXI-B",
            remote_management_address=ip,
            capabilities=("router", "trans_bridge"),
        )
    _host(net, acc, port, acc.vlan(30), mac, ip, None)


def _access_ports(net: DemoNet, acc: Access, ips: _Addresses, counter: list[int]) -> None:
    me = acc.hostname
    floor = (acc.n - 1) % 6 // 2 + 1
    for p in range(1, _PORTS + 1):
        port = acc.port(p)
        jack = f"{acc.building.upper()}{floor}-{acc.n * 100 + p:04d}"
        fields: dict[str, object] = {
            "mode": "access",
            "access_vlan": acc.vlan(10),
            "speed_mbps": 1000,
            "mtu": 1500,
        }
        if p > _PORTS - 2:
            net.port(
                me, port, description="spare", admin_status="down", oper_status="down", **fields
            )
            continue
        connected = p <= 3 or (acc.n * 5 + p) % 11 != 0
        kind = "phone" if p <= 2 else "ap" if p == 3 else "printer" if p % 7 == 0 else "desk"
        description = None if (me, p) == _NO_DESCRIPTION else f"{kind} {jack}"
        if p <= 2:
            fields["voice_vlan"] = acc.vlan(20)
        if p == 3:
            fields["access_vlan"] = acc.vlan(30)
        net.port(
            me,
            port,
            description=description,
            admin_status="up",
            oper_status="up" if connected else "down",
            **fields,
        )
        if not connected:
            continue
        if p <= 2:
            _phone(net, acc, port, p, ips)
        elif p == 3:
            _access_point(net, acc, port, ips)
            continue
        counter[0] += 1
        n = counter[0]
        oui = OUI["printer"] if kind == "printer" else OUI["pc"]
        mac = mac_for(oui, acc.n * 256 + p)
        ip = None if n % 10 == 0 else ips.take(f"10.{acc.net}.10")  # some have not talked
        v6 = f"2001:db8:10:{acc.vlan(10)}::{n:x}" if ip and n % 5 == 0 else None
        _host(net, acc, port, acc.vlan(10), mac, ip, v6)


def add_campus_hosts(net: DemoNet) -> None:
    ips = _Addresses()
    counter = [0]
    for acc in ACCESS:
        _access_ports(net, acc, ips, counter)
    # Wireless clients reach the wired network through the controller's trunks: the
    # distribution switches learn them on ports that face a managed device, never an edge.
    for i in range(24):
        mac = mac_for(OUI["wifi"], 0x1000 + i * 37)
        net.learn("hq-dist-01", "TwentyFiveGigE1/0/20", 140, mac)
        net.learn("hq-dist-02", "Port-channel1", 140, mac)
        net.arp_entry("hq-dist-01", "Vlan140", ips.take("10.1.40"), mac)
