"""The data centre: an Arista leaf-spine fabric (two spines, three MLAG leaf pairs, eBGP
underlay), a Juniper SRX between the border leaves and the campus core, and an out-of-band
EX switch for the fabric's management ports.

Hypervisors speak LLDP (neighbours nobody collected, with VMs behind them); bare-metal
servers are silent and known only from MAC and ARP tables.
"""

from __future__ import annotations

from network_discovery.demo._builder import DemoNet
from network_discovery.demo._style import OUI, mac_for

__all__ = ["add_dc_devices", "wire_dc"]

EOS = "Arista Networks EOS version 4.30.4M running on an Arista Networks {model}"
SPINE_ASN = 65100
SRX_ASN = 65001
_VLANS = {110: "WEB", 120: "APP", 130: "DB", 4094: "MLAG-PEER"}
_LEAF_KINDS = ("device", "interfaces", "ip_addresses", "vlans", "lldp", "arp", "mac_table", "bgp")


def _leaf_asn(k: int) -> int:
    return SPINE_ASN + (k + 1) // 2  # one AS per MLAG pair


def _p2p(spine: int, leaf: int) -> tuple[str, str]:
    """The /31 between a spine and a leaf: (spine side, leaf side)."""
    base = 8 * (leaf - 1) + 2 * (spine - 1)
    return f"10.100.0.{base}", f"10.100.0.{base + 1}"


def add_dc_devices(net: DemoNet) -> None:
    net.device(
        "fw-dc-01",
        kinds=("device", "interfaces", "ip_addresses", "lldp", "bgp"),
        chassis=mac_for(OUI["juniper"], 0x400100),
        system_description="Juniper Networks, Inc. srx4100 internet router, kernel JUNOS 22.4R2-S2",
        capabilities=("bridge", "router"),
        vendor="Juniper",
        platform="juniper_junos",
        model="SRX4100",
        os_version="22.4R2-S2",
        serial="DA4917AA0133",
        role="firewall",
        site="dc1",
        tenant="corp",
        rack="R01",
        management_ip="10.255.0.22",
        criticality="critical",
    )
    for name, k, model, role, crit in [
        *((f"dc-spine-0{s}", s, "DCS-7050CX3-32S-F", "spine", "critical") for s in (1, 2)),
        *((f"dc-leaf-0{k}", k, "DCS-7050SX3-48YC8-F", "leaf", "high") for k in range(1, 7)),
    ]:
        spine = role == "spine"
        net.device(
            name,
            kinds=("device", "interfaces", "ip_addresses", "lldp", "bgp") if spine else _LEAF_KINDS,
            chassis=mac_for(OUI["arista"], (0x500000 if spine else 0x510000) + k * 0x100),
            system_description=EOS.format(model=model),
            vendor="Arista",
            platform="arista_eos",
            model=model,
            os_version="4.30.4M",
            serial=f"{'JPE' if spine else 'JAS'}2133{k:02d}{'7' if spine else '4'}1",
            role=role,
            site="dc1",
            tenant="corp",
            rack=f"R0{1 + k}" if spine else f"R0{3 + (k + 1) // 2}",
            management_ip=f"10.200.0.{10 + k if spine else 20 + k}",
            criticality=crit,
        )
    net.device(
        "dc-oob-01",
        kinds=("device", "interfaces", "ip_addresses", "vlans", "lldp"),
        chassis=mac_for(OUI["juniper"], 0x400200),
        system_description=(
            "Juniper Networks, Inc. ex2300-48t Ethernet Switch, kernel JUNOS 21.4R3-S5"
        ),
        capabilities=("bridge",),
        vendor="Juniper",
        platform="juniper_junos",
        model="EX2300-48T",
        os_version="21.4R3-S5",
        serial="JW3619AB0077",
        role="management",
        site="dc1",
        tenant="corp",
        rack="R01",
        management_ip="10.200.0.254",
        criticality="medium",
    )


def _port(net: DemoNet, host: str, port: str, description: str, **fields: object) -> None:
    defaults: dict[str, object] = {"admin_status": "up", "oper_status": "up", "mtu": 9214}
    net.port(host, port, description=description, **(defaults | fields))


def _fabric(net: DemoNet) -> None:
    for s in (1, 2):
        spine = f"dc-spine-0{s}"
        _port(net, spine, "Loopback0", "router-id", mode="routed", mtu=None)
        net.ip(spine, "Loopback0", f"10.101.0.{s}/32")
        for k in range(1, 7):
            leaf, uplink = f"dc-leaf-0{k}", f"Ethernet{48 + s}/1"
            mine, theirs = _p2p(s, k)
            _port(
                net,
                spine,
                f"Ethernet1/{k}",
                f"{leaf} Et{48 + s}/1",
                mode="routed",
                speed_mbps=100000,
                mac=net.nodes[spine].chassis,
            )
            _port(
                net,
                leaf,
                uplink,
                f"{spine} Et1/{k}",
                mode="routed",
                speed_mbps=100000,
                mac=net.nodes[leaf].chassis,
            )
            net.ip(spine, f"Ethernet1/{k}", f"{mine}/31")
            net.ip(leaf, uplink, f"{theirs}/31")
            net.cable(spine, f"Ethernet1/{k}", leaf, uplink)
            net.arp_entry(leaf, uplink, mine, net.nodes[spine].chassis)
            net.bgp(
                spine,
                local_address=mine,
                local_asn=SPINE_ASN,
                remote_address=theirs,
                remote_asn=_leaf_asn(k),
                state="established",
                prefixes_received=14 + k,
                uptime_seconds=21 * 86_400 + 600 * k,
                description=leaf,
            )
            net.bgp(
                leaf,
                local_address=theirs,
                local_asn=_leaf_asn(k),
                remote_address=mine,
                remote_asn=SPINE_ASN,
                state="established",
                prefixes_received=58,
                uptime_seconds=21 * 86_400 + 600 * k,
                description=spine,
            )
    for k in range(1, 7):
        leaf, peer = f"dc-leaf-0{k}", f"dc-leaf-0{k + 1 if k % 2 else k - 1}"
        _port(net, leaf, "Loopback0", "router-id", mode="routed", mtu=None)
        net.ip(leaf, "Loopback0", f"10.101.1.{k}/32")
        _port(net, leaf, "Vxlan1", "evpn vtep", mtu=None)
        for p in (46, 47):
            _port(
                net,
                leaf,
                f"Ethernet{p}",
                f"mlag peer {peer}",
                lag="Port-Channel1000",
                speed_mbps=25000,
            )
            if k % 2:
                net.cable(leaf, f"Ethernet{p}", peer, f"Ethernet{p}")
        _port(
            net,
            leaf,
            "Port-Channel1000",
            f"mlag peer-link {peer}",
            mode="trunk",
            trunk_vlans=list(_VLANS),
            speed_mbps=50000,
        )
        for vid, name in _VLANS.items():
            net.vlan(leaf, vid, name)
            if vid != 4094:
                _port(
                    net,
                    leaf,
                    f"Vlan{vid}",
                    name.lower(),
                    mode="routed",
                    mac=net.nodes[leaf].chassis,
                )
                net.ip(leaf, f"Vlan{vid}", f"10.{vid}.0.{10 + k}/24")


def _firewall_and_oob(net: DemoNet) -> None:
    fw = "fw-dc-01"
    for i in (1, 2):
        core = f"hq-core-0{i}"
        _port(net, fw, f"xe-0/0/{i - 1}", f"{core} Eth1/48", mode="routed", speed_mbps=10000)
        net.ip(fw, f"xe-0/0/{i - 1}.0", f"10.0.1.{3 + 2 * i}/31")
        _port(
            net,
            core,
            "Ethernet1/48",
            f"fw-dc-01 xe-0/0/{i - 1}",
            mode="routed",
            speed_mbps=10000,
            mac=net.nodes[core].chassis,
        )
        net.ip(core, "Eth1/48", f"10.0.1.{2 + 2 * i}/31")
        net.cable(core, "Ethernet1/48", fw, f"xe-0/0/{i - 1}")
        net.arp_entry(core, "Ethernet1/48", f"10.0.1.{3 + 2 * i}", net.nodes[fw].chassis)
    for i, leaf in enumerate(("dc-leaf-05", "dc-leaf-06")):
        _port(net, fw, f"xe-0/0/{2 + i}", f"{leaf} Et48", mode="routed", speed_mbps=10000)
        net.ip(fw, f"xe-0/0/{2 + i}.0", f"10.100.1.{2 * i}/31")
        _port(
            net,
            leaf,
            "Ethernet48",
            f"{fw} xe-0/0/{2 + i}",
            mode="routed",
            speed_mbps=10000,
            mac=net.nodes[leaf].chassis,
        )
        net.ip(leaf, "Ethernet48", f"10.100.1.{2 * i + 1}/31")
        net.cable(leaf, "Ethernet48", fw, f"xe-0/0/{2 + i}")
        net.arp_entry(leaf, "Ethernet48", f"10.100.1.{2 * i}", net.nodes[fw].chassis)
        net.bgp(
            fw,
            local_address=f"10.100.1.{2 * i}",
            local_asn=SRX_ASN,
            remote_address=f"10.100.1.{2 * i + 1}",
            remote_asn=_leaf_asn(5 + i),
            state="established",
            prefixes_received=48,
            uptime_seconds=30 * 86_400,
            description=leaf,
        )
        net.bgp(
            leaf,
            local_address=f"10.100.1.{2 * i + 1}",
            local_asn=_leaf_asn(5 + i),
            remote_address=f"10.100.1.{2 * i}",
            remote_asn=SRX_ASN,
            state="established",
            prefixes_received=3,
            uptime_seconds=30 * 86_400,
            description=fw,
        )
    _port(net, fw, "lo0", "router-id", mode="routed", mtu=None)
    net.ip(fw, "lo0.0", "10.255.0.22/32")
    _port(net, fw, "fxp0", "oob management", mode="routed", mtu=1500, speed_mbps=1000)
    net.ip(fw, "fxp0.0", "10.200.0.250/24")

    oob = "dc-oob-01"
    net.vlan(oob, 200, "OOB")
    fabric = [f"dc-spine-0{s}" for s in (1, 2)] + [f"dc-leaf-0{k}" for k in range(1, 7)]
    for i, host in enumerate(fabric):
        _port(
            net,
            oob,
            f"ge-0/0/{i}",
            f"{host} Ma1",
            mode="access",
            access_vlan=200,
            speed_mbps=1000,
            mtu=1514,
        )
        _port(net, host, "Management1", "oob", mode="routed", speed_mbps=1000, mtu=1500, vrf="MGMT")
        net.ip(host, "Management1", f"{net.nodes[host].device['management_ip']}/24", vrf="MGMT")
        net.cable(oob, f"ge-0/0/{i}", host, "Management1")
    _port(
        net, oob, "xe-0/1/0", "hq-core-02 Eth1/46", mode="access", access_vlan=200, speed_mbps=10000
    )
    _port(net, oob, "irb.200", "management", mode="routed", mtu=None)
    net.ip(oob, "irb.200", "10.200.0.254/24")
    _port(
        net,
        "hq-core-02",
        "Ethernet1/46",
        "dc-oob-01 xe-0/1/0",
        mode="routed",
        speed_mbps=10000,
        mac=net.nodes["hq-core-02"].chassis,
    )
    net.ip("hq-core-02", "Eth1/46", "10.200.0.1/24")
    net.cable("hq-core-02", "Ethernet1/46", oob, "xe-0/1/0")


def _servers(net: DemoNet) -> None:
    for pair in (1, 2, 3):
        odd, even = f"dc-leaf-0{2 * pair - 1}", f"dc-leaf-0{2 * pair}"
        for h in (1, 2):
            esx = 2 * (pair - 1) + h
            name, po = f"esx-{esx:02d}.dc1.example.net", f"Port-Channel{10 + h}"
            for nic, leaf in enumerate((odd, even)):
                port = f"Ethernet{h}"
                _port(net, leaf, port, f"esx-{esx:02d} vmnic{nic}", lag=po, speed_mbps=25000)
                _port(
                    net,
                    leaf,
                    po,
                    f"esx-{esx:02d} bond",
                    mode="trunk",
                    trunk_vlans=[110, 120, 130],
                    speed_mbps=50000,
                )
                net.seen(
                    leaf,
                    port,
                    remote_system_name=name,
                    remote_port=f"vmnic{nic}",
                    remote_chassis_id=net.style(leaf).mac(mac_for(OUI["server"], esx * 16 + nic)),
                    remote_management_address=f"10.120.0.{50 + esx}",
                    remote_description="VMware ESXi 8.0.2 build-22380479",
                    capabilities=("station",),
                )
            for v in range(5):
                vm_mac = mac_for(OUI["vmware"], esx * 256 + v)
                vid = (110, 120, 130)[v % 3]
                for leaf in (odd, even):
                    net.learn(leaf, po, vid, vm_mac)
                net.arp_entry(odd, f"Vlan{vid}", f"10.{vid}.0.{100 + esx * 8 + v}", vm_mac)
        for leaf_no in (2 * pair - 1, 2 * pair):
            leaf = f"dc-leaf-0{leaf_no}"
            for p in range(3, 9):
                vid = (110, 120, 130)[(p - 3) // 2]
                role = {110: "web", 120: "app", 130: "db"}[vid]
                mac = mac_for(OUI["server"], 0x8000 + leaf_no * 16 + p)
                _port(
                    net,
                    leaf,
                    f"Ethernet{p}",
                    f"{role}-{leaf_no}{p:02d} eno1",
                    mode="access",
                    access_vlan=vid,
                    speed_mbps=25000,
                )
                net.learn(leaf, f"Ethernet{p}", vid, mac)
                net.arp_entry(leaf, f"Vlan{vid}", f"10.{vid}.0.{160 + leaf_no * 10 + p}", mac)
                if vid == 130:  # EVPN: other pairs learn database hosts over the VXLAN tunnel
                    for other in range(1, 7):
                        if (other + 1) // 2 != pair:
                            net.learn(f"dc-leaf-0{other}", "Vxlan1", vid, mac)


def wire_dc(net: DemoNet) -> None:
    _fabric(net)
    _firewall_and_oob(net)
    _servers(net)
