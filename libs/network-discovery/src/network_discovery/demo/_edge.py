"""The internet edge: a Palo Alto firewall between the campus core and two border routers
(a Cisco ASR and a Juniper MX), each with eBGP to its own ISP over IPv4 and IPv6 and iBGP
between them. The ISPs' routers are not collected: they appear only as BGP peers.
"""

from __future__ import annotations

from network_discovery.demo._builder import DemoNet
from network_discovery.demo._style import OUI, mac_for

__all__ = ["LOCAL_ASN", "add_edge_devices", "wire_edge"]

LOCAL_ASN = 65010
ISP_A_ASN = 64496
ISP_B_ASN = 64499
_DAY = 86_400


def add_edge_devices(net: DemoNet) -> None:
    net.device(
        "fw-edge-01",
        kinds=("device", "interfaces", "ip_addresses", "lldp"),
        chassis=mac_for(OUI["paloalto"], 0x300100),
        system_description="Palo Alto Networks PA-3200 series firewall",
        capabilities=("router",),
        vendor="Palo Alto Networks",
        platform="paloalto_panos",
        model="PA-3220",
        os_version="10.2.7-h3",
        serial="016201012345",
        role="firewall",
        site="hq",
        tenant="corp",
        rack="A-MDF",
        management_ip="10.255.0.21",
        criticality="critical",
    )
    net.device(
        "hq-border-01",
        kinds=("device", "interfaces", "ip_addresses", "lldp", "arp", "bgp"),
        chassis=mac_for(OUI["cisco"], 0x100000 + 50 * 0x100),
        system_description=(
            "Cisco IOS Software [Bengaluru], ASR1000 Software "
            "(X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.6.5, RELEASE SOFTWARE (fc2)"
        ),
        capabilities=("router",),
        vendor="Cisco",
        platform="cisco_ios",
        model="ASR1001-X",
        os_version="17.6.5",
        serial="FXS2229Q1AB",
        role="border",
        site="hq",
        tenant="corp",
        rack="A-MDF",
        management_ip="10.255.0.31",
        criticality="critical",
    )
    net.device(
        "hq-border-02",
        kinds=("device", "interfaces", "ip_addresses", "lldp", "arp", "bgp"),
        chassis=mac_for(OUI["juniper"], 0x300200),
        system_description="Juniper Networks, Inc. mx204 internet router, kernel JUNOS 22.4R3",
        capabilities=("bridge", "router"),
        vendor="Juniper",
        platform="juniper_junos",
        model="MX204",
        os_version="22.4R3",
        serial="BY2821AF0042",
        role="border",
        site="hq",
        tenant="corp",
        rack="B-MDF",
        management_ip="10.255.0.32",
        criticality="critical",
    )


def _routed(net: DemoNet, host: str, port: str, description: str, speed: int) -> None:
    net.port(
        host,
        port,
        description=description,
        mode="routed",
        admin_status="up",
        oper_status="up",
        speed_mbps=speed,
        mtu=1500,
        mac=net.nodes[host].chassis,
    )


def wire_edge(net: DemoNet) -> None:
    fw = "fw-edge-01"
    for i, (border, port) in enumerate(
        (("hq-border-01", "GigabitEthernet0/0/1"), ("hq-border-02", "xe-0/1/0")), start=1
    ):
        _routed(net, fw, f"ethernet1/{i}", f"untrust to {border}", 10000)
        net.ip(fw, f"ethernet1/{i}", f"10.0.2.{2 * i - 1}/31")
        _routed(net, border, port, "fw-edge-01 untrust", 10000 if "xe" in port else 1000)
        net.ip(border, port if "Gig" in port else port + ".0", f"10.0.2.{2 * i - 2}/31")
        net.cable(fw, f"ethernet1/{i}", border, port)
        net.arp_entry(
            border,
            port if "Gig" in port else port + ".0",
            f"10.0.2.{2 * i - 1}",
            net.nodes[fw].chassis,
        )
    for i in (1, 2):
        core = f"hq-core-0{i}"
        _routed(net, fw, f"ethernet1/{2 + i}", f"trust to {core}", 10000)
        net.ip(fw, f"ethernet1/{2 + i}", f"10.0.1.{2 * i - 1}/31")
        _routed(net, core, "Ethernet1/47", f"fw-edge-01 ethernet1/{2 + i}", 10000)
        net.ip(core, "Eth1/47", f"10.0.1.{2 * i - 2}/31")
        net.cable(core, "Ethernet1/47", fw, f"ethernet1/{2 + i}")
        net.arp_entry(core, "Ethernet1/47", f"10.0.1.{2 * i - 1}", net.nodes[fw].chassis)
    net.port(
        fw,
        "loopback.1",
        mode="routed",
        admin_status="up",
        oper_status="up",
        description="management",
    )
    net.ip(fw, "loopback.1", "10.255.0.21/32")

    # Between the borders: the iBGP transit link.
    _routed(net, "hq-border-01", "GigabitEthernet0/0/2", "hq-border-02 xe-0/1/1", 1000)
    _routed(net, "hq-border-02", "xe-0/1/1", "hq-border-01 Gi0/0/2", 1000)
    net.ip("hq-border-01", "GigabitEthernet0/0/2", "10.0.3.0/31")
    net.ip("hq-border-02", "xe-0/1/1.0", "10.0.3.1/31")
    net.cable("hq-border-01", "GigabitEthernet0/0/2", "hq-border-02", "xe-0/1/1")
    net.arp_entry(
        "hq-border-01", "GigabitEthernet0/0/2", "10.0.3.1", net.nodes["hq-border-02"].chassis
    )
    net.arp_entry("hq-border-02", "xe-0/1/1.0", "10.0.3.0", net.nodes["hq-border-01"].chassis)

    # Towards the ISPs: no LLDP across the demarcation, only addresses and BGP.
    _routed(net, "hq-border-01", "TenGigabitEthernet0/1/0", "ISP-A transit CID 4471-0021", 10000)
    net.ip("hq-border-01", "TenGigabitEthernet0/1/0", "203.0.113.2/30")
    net.ip("hq-border-01", "TenGigabitEthernet0/1/0", "2001:db8:64:a::2/64")
    net.arp_entry(
        "hq-border-01", "TenGigabitEthernet0/1/0", "203.0.113.1", mac_for(OUI["isp"], 0xA00001)
    )
    _routed(net, "hq-border-02", "et-0/0/0", "ISP-B transit CID B-88213", 100000)
    net.ip("hq-border-02", "et-0/0/0.0", "198.51.100.2/30")
    net.ip("hq-border-02", "et-0/0/0.0", "2001:db8:64:b::2/64")
    net.arp_entry("hq-border-02", "et-0/0/0.0", "198.51.100.1", mac_for(OUI["isp"], 0xB00001))
    for i, (border, lo) in enumerate((("hq-border-01", "Loopback0"), ("hq-border-02", "lo0")), 1):
        net.port(
            border, lo, mode="routed", admin_status="up", oper_status="up", description="router-id"
        )
        net.ip(border, lo if i == 1 else "lo0.0", f"10.255.0.{30 + i}/32")

    bgp = net.bgp
    bgp(
        "hq-border-01",
        local_address="203.0.113.2",
        local_asn=LOCAL_ASN,
        remote_address="203.0.113.1",
        remote_asn=ISP_A_ASN,
        state="established",
        prefixes_received=948_211,
        uptime_seconds=45 * _DAY + 3_421,
        description="ISP-A transit",
    )
    bgp(
        "hq-border-01",
        local_address="2001:db8:64:a::2",
        local_asn=LOCAL_ASN,
        remote_address="2001:db8:64:a::1",
        remote_asn=ISP_A_ASN,
        state="established",
        prefixes_received=201_877,
        uptime_seconds=45 * _DAY + 3_350,
        description="ISP-A transit v6",
    )
    bgp(
        "hq-border-01",
        local_address="10.255.0.31",
        local_asn=LOCAL_ASN,
        remote_address="10.255.0.32",
        remote_asn=LOCAL_ASN,
        state="established",
        prefixes_received=946_530,
        uptime_seconds=90 * _DAY,
        description="iBGP hq-border-02",
    )
    bgp(
        "hq-border-02",
        local_address="198.51.100.2",
        local_asn=LOCAL_ASN,
        remote_address="198.51.100.1",
        remote_asn=ISP_B_ASN,
        state="established",
        prefixes_received=946_530,
        uptime_seconds=14 * _DAY + 171,
        description="ISP-B transit",
    )
    # On purpose: the IPv6 session to ISP-B is down.
    bgp(
        "hq-border-02",
        local_address="2001:db8:64:b::2",
        local_asn=LOCAL_ASN,
        remote_address="2001:db8:64:b::1",
        remote_asn=ISP_B_ASN,
        state="active",
        prefixes_received=0,
        description="ISP-B transit v6",
    )
    bgp(
        "hq-border-02",
        local_address="10.255.0.32",
        local_asn=LOCAL_ASN,
        remote_address="10.255.0.31",
        remote_asn=LOCAL_ASN,
        state="established",
        prefixes_received=948_211,
        uptime_seconds=90 * _DAY,
        description="iBGP hq-border-01",
    )
