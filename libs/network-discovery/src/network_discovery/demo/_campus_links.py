"""How the campus is cabled and addressed.

Layer 3 ends at the distribution pair (SVIs with HSRP); access switches are layer 2 with a
trunk to each distribution switch (the one to hq-dist-02 blocked by spanning tree). Core and
distribution are joined by routed /31 links.
"""

from __future__ import annotations

from network_discovery.demo._builder import DemoNet
from network_discovery.demo._campus import ACCESS, VLAN_NAMES, Access
from network_discovery.demo._style import hsrp_mac

__all__ = ["wire_campus"]


def _chassis(net: DemoNet, hostname: str) -> str:
    return net.nodes[hostname].chassis


def _core(net: DemoNet) -> None:
    net.cable("hq-core-01", "Ethernet1/53", "hq-core-02", "Ethernet1/53", cdp=True)
    net.cable("hq-core-01", "Ethernet1/54", "hq-core-02", "Ethernet1/54", cdp=True)
    for i in (1, 2):
        me, peer = f"hq-core-0{i}", f"hq-core-0{3 - i}"
        for port in ("Ethernet1/53", "Ethernet1/54"):
            net.port(
                me,
                port,
                description=f"vpc peer-link {peer}",
                lag="port-channel1",
                admin_status="up",
                oper_status="up",
                speed_mbps=100000,
                mtu=9216,
            )
        net.port(
            me,
            "port-channel1",
            description=f"L3 to {peer}",
            mode="routed",
            admin_status="up",
            oper_status="up",
            speed_mbps=200000,
            mtu=9216,
        )
        net.ip(me, "Po1", f"10.0.0.{7 + i}/31")
        net.port(
            me,
            "loopback0",
            mode="routed",
            admin_status="up",
            oper_status="up",
            description="router-id",
        )
        net.ip(me, "Lo0", f"10.255.0.{i}/32")
        net.port(
            me,
            "mgmt0",
            mode="routed",
            admin_status="up",
            oper_status="up",
            speed_mbps=1000,
            description="oob management",
            vrf="management",
        )
        net.ip(me, "mgmt0", f"10.0.98.{i}/24", vrf="management")
        for d in (1, 2):
            port = f"Ethernet1/{48 + d}"
            remote = f"HundredGigE1/0/{24 + i}"
            net.port(
                me,
                port,
                description=f"hq-dist-0{d} Hu1/0/{24 + i}",
                mode="routed",
                admin_status="up",
                oper_status="up",
                speed_mbps=100000,
                mtu=9216,
                mac=_chassis(net, me),
            )
            net.ip(me, f"Eth1/{48 + d}", f"10.0.0.{4 * (d - 1) + 2 * (i - 1)}/31")
            net.cable(me, port, f"hq-dist-0{d}", remote, cdp=True)
            net.arp_entry(
                me,
                f"Ethernet1/{48 + d}",
                f"10.0.0.{4 * (d - 1) + 2 * (i - 1) + 1}",
                _chassis(net, f"hq-dist-0{d}"),
            )
    net.port(
        "hq-core-02",
        "Ethernet1/3",
        description="spare routed - was dc-legacy uplink",
        mode="routed",
        admin_status="up",
        oper_status="down",
        speed_mbps=10000,
    )


def _distribution(net: DemoNet) -> None:
    net.cable("hq-dist-01", "HundredGigE1/0/27", "hq-dist-02", "HundredGigE1/0/27", cdp=True)
    net.cable("hq-dist-01", "HundredGigE1/0/28", "hq-dist-02", "HundredGigE1/0/28", cdp=True)
    trunk = (99, 110, 120, 130, 140, 210, 220, 230)
    for d in (1, 2):
        me, peer = f"hq-dist-0{d}", f"hq-dist-0{3 - d}"
        mac = _chassis(net, me)
        for c in (1, 2):
            net.port(
                me,
                f"HundredGigE1/0/{24 + c}",
                description=f"hq-core-0{c} Eth1/{48 + d}",
                mode="routed",
                admin_status="up",
                oper_status="up",
                speed_mbps=100000,
                mtu=9198,
                mac=mac,
            )
            net.ip(me, f"HundredGigE1/0/{24 + c}", f"10.0.0.{4 * (d - 1) + 2 * (c - 1) + 1}/31")
        for port in ("HundredGigE1/0/27", "HundredGigE1/0/28"):
            net.port(
                me,
                port,
                description=f"{peer} peer link",
                lag="Port-channel1",
                admin_status="up",
                oper_status="up",
                speed_mbps=100000,
                mtu=9198,
            )
        net.port(
            me,
            "Port-channel1",
            description=f"{peer} peer link",
            mode="trunk",
            trunk_vlans=list(trunk),
            native_vlan=999,
            admin_status="up",
            oper_status="up",
            speed_mbps=200000,
            mtu=9198,
        )
        net.port(
            me,
            "Loopback0",
            mode="routed",
            admin_status="up",
            oper_status="up",
            description="router-id",
        )
        net.ip(me, "Loopback0", f"10.255.0.{10 + d}/32")
        for vid, name in VLAN_NAMES.items():
            net.vlan(me, vid, name)
            net.port(
                me,
                f"Vlan{vid}",
                description=name.lower(),
                mode="routed",
                mac=mac,
                admin_status="up",
                oper_status="up",
                mtu=1500,
            )
            if vid == 150:
                continue
            host = "2" if (vid == 230 or d == 1) else "3"  # hq-dist-02 Vlan230: duplicate
            third = vid % 100 if vid >= 110 else vid
            second = 0 if vid == 99 else vid // 100
            net.ip(me, f"Vlan{vid}", f"10.{second}.{third}.{host}/24")
            if vid in (110, 210):
                net.ip(me, f"Vlan{vid}", f"2001:db8:10:{vid}::{host}/64")
        net.arp_entry(me, "Vlan99", f"10.0.99.{4 - d}", _chassis(net, peer))
    # An SVI left behind after the old guest network was retired: its address is orphaned.
    net.port(
        "hq-dist-02",
        "Vlan150",
        admin_status="down",
        oper_status="down",
        description="old guest - decommissioned",
    )
    net.ip("hq-dist-02", "Vlan150", "10.1.50.2/24")
    net.port(
        "hq-dist-01",
        "Vlan150",
        admin_status="down",
        oper_status="down",
        description="old guest - decommissioned",
    )


def _access_switch(net: DemoNet, acc: Access) -> None:
    me = acc.hostname
    vlans = (99, acc.vlan(10), acc.vlan(20), acc.vlan(30))
    for vid in vlans:
        name = VLAN_NAMES[vid]
        net.vlan(me, vid, name if not acc.junos else name.replace("-", "_"))
    for d in (1, 2):
        up = acc.uplink(d)
        dist_port = f"TwentyFiveGigE1/0/{acc.n}"
        net.port(
            me,
            up,
            description=f"uplink hq-dist-0{d} Twe1/0/{acc.n}",
            mode="trunk",
            trunk_vlans=list(vlans),
            native_vlan=999,
            admin_status="up",
            oper_status="up",
            speed_mbps=10000,
            mtu=9198,
        )
        net.port(
            f"hq-dist-0{d}",
            dist_port,
            description=f"{me} {net.style(me).short(up)}",
            mode="trunk",
            trunk_vlans=list(vlans),
            native_vlan=999,
            admin_status="up",
            oper_status="up",
            speed_mbps=10000,
            mtu=9198,
        )
        pid = {me: up + ".0"} if me == "hq-b-acc-06" and d == 1 else {}
        net.cable(me, up, f"hq-dist-0{d}", dist_port, cdp=not acc.junos, **pid)
    svi = "irb.99" if acc.junos else "Vlan99"
    net.port(me, svi, mode="routed", admin_status="up", oper_status="up", description="management")
    net.ip(me, svi, f"10.0.99.{10 + acc.n}/24")
    up = acc.uplink(1)
    net.learn(me, up, 99, _chassis(net, "hq-dist-01"))
    for base in (10, 20, 30):
        net.learn(me, up, acc.vlan(base), hsrp_mac(acc.vlan(base)))


def wire_campus(net: DemoNet) -> None:
    _core(net)
    _distribution(net)
    for acc in ACCESS:
        _access_switch(net, acc)
    for d in (1, 2):
        port = f"TenGigabitEthernet0/0/{d - 1}"
        net.port(
            "hq-wlc-01",
            port,
            description=f"hq-dist-0{d} Twe1/0/20",
            mode="trunk",
            trunk_vlans=[99, 140],
            admin_status="up",
            oper_status="up",
            speed_mbps=10000,
        )
        net.port(
            f"hq-dist-0{d}",
            "TwentyFiveGigE1/0/20",
            description="hq-wlc-01",
            mode="trunk",
            trunk_vlans=[99, 140],
            admin_status="up",
            oper_status="up",
            speed_mbps=10000,
            mtu=9198,
        )
        net.cable("hq-wlc-01", port, f"hq-dist-0{d}", "TwentyFiveGigE1/0/20", cdp=True)
    net.port(
        "hq-wlc-01",
        "Vlan99",
        mode="routed",
        admin_status="up",
        oper_status="up",
        description="wireless management",
    )
    net.ip("hq-wlc-01", "Vlan99", "10.0.99.5/24")
    net.vlan("hq-wlc-01", 99, "MGMT")
    net.vlan("hq-wlc-01", 140, "WIFI-CLIENTS")
    for p in range(1, 5):
        net.port(
            "hq-lab-01",
            f"GigabitEthernet1/0/{p}",
            description=f"lab bench {p}",
            mode="access",
            access_vlan=1,
            admin_status="up",
            oper_status="down",
            speed_mbps=1000,
        )
    net.port(
        "hq-lab-01",
        "Vlan1",
        mode="routed",
        admin_status="up",
        oper_status="up",
        description="lab default",
    )
    net.ip("hq-lab-01", "Vlan1", "192.168.1.10/24")
