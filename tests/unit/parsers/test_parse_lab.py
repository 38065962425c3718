"""The lab1 fixtures, parsed per platform and command, with concrete values."""

from network_discovery.model import BGPState, FactKind, MacEntryType
from network_discovery.parsers import COMMANDS, find_command


def _dev(snapshot, name):
    return next(d for d in snapshot.devices if d.id == name)


def _iface(snapshot, device, name):
    return next(i for i in snapshot.interfaces if i.device == device and i.name == name)


def test_lab_parses_cleanly_with_exact_scope(lab1):
    snapshot, report = lab1
    assert report.issues == []
    assert snapshot.scope_map() == {
        "lab-acc1": {"device", "interfaces", "ip_addresses", "lldp", "cdp", "mac_table", "vlans"},
        "lab-acc2": {
            "device",
            "interfaces",
            "ip_addresses",
            "lldp",
            "cdp",
            "arp",
            "mac_table",
            "vlans",
        },
        "lab-core1": {
            "device",
            "interfaces",
            "ip_addresses",
            "lldp",
            "cdp",
            "arp",
            "mac_table",
            "vlans",
            "bgp",
        },
        "lab-leaf1": {
            "device",
            "interfaces",
            "ip_addresses",
            "lldp",
            "arp",
            "mac_table",
            "vlans",
            "bgp",
        },
        "lab-edge1": {
            "device",
            "interfaces",
            "ip_addresses",
            "lldp",
            "arp",
            "mac_table",
            "vlans",
            "bgp",
        },
    }
    assert len(report.parsed_files) == 42  # 46 command files, 4 brief forms skipped


def test_versions_ios_iosxe_nxos_eos_junos(lab1):
    snapshot, _ = lab1
    acc1, acc2 = _dev(snapshot, "lab-acc1"), _dev(snapshot, "lab-acc2")
    assert (acc1.os_version, acc1.model, acc1.serial) == (
        "15.2(7)E8",
        "WS-C2960X-48FPD-L",
        "FOC2231X0AB",
    )
    assert acc1.chassis_id == "70:81:05:a1:00:00" and acc1.management_ip == "10.10.30.11"
    assert (acc2.os_version, acc2.model, acc2.vendor) == ("17.9.4a", "C9300-48P", "Cisco")
    core = _dev(snapshot, "lab-core1")
    # the model as NX-OS prints it, and the product id within it
    assert core.model_id == "C93180YC-FX"
    assert (core.os_version, core.model, core.serial, core.role, core.criticality) == (
        "10.3(4a)",
        "Nexus9000 C93180YC-FX Chassis",
        "FDO2412A1B2",
        "core",
        "critical",
    )
    leaf = _dev(snapshot, "lab-leaf1")
    assert (leaf.os_version, leaf.model, leaf.vendor, leaf.platform) == (
        "4.30.4M",
        "DCS-7050SX3-48YC8-R",
        "Arista",
        "arista_eos",
    )
    edge = _dev(snapshot, "lab-edge1")
    assert (edge.os_version, edge.model, edge.role) == ("21.4R3-S5.4", "ex4300-48t", "border")


def test_interfaces_status_and_detail_merge(lab1):
    snapshot, _ = lab1
    gi2 = _iface(snapshot, "lab-acc1", "GigabitEthernet1/0/2")
    assert (gi2.mode, gi2.access_vlan, gi2.description, gi2.speed_mbps) == (
        "access",
        10,
        "desk-102 phone",
        100,
    )
    gi4 = _iface(snapshot, "lab-acc1", "GigabitEthernet1/0/4")
    assert (gi4.admin_status, gi4.oper_status) == ("down", "down")
    te = _iface(snapshot, "lab-acc2", "TenGigabitEthernet1/1/1")
    # status says trunk and 10G; "show interfaces" adds MAC and MTU
    assert (te.mode, te.speed_mbps, te.mtu, te.mac) == ("trunk", 10000, 9198, "f8:7b:20:12:01:81")
    assert _iface(snapshot, "lab-core1", "Ethernet1/3").mode == "routed"
    assert _iface(snapshot, "lab-leaf1", "Ethernet11").lag == "Port-channel10"
    assert _iface(snapshot, "lab-leaf1", "Port-channel10").mode == "trunk"


def test_nxos_show_interface_detail(lab1):
    snapshot, _ = lab1
    core = {i.name: i for i in snapshot.interfaces if i.device == "lab-core1"}
    assert len(core) == 11
    up = core["Ethernet1/1"]
    # full description from "show interface" (the status table cuts it at 18 characters)
    assert (up.description, up.speed_mbps, up.mtu, up.mac, up.mode) == (
        "access lab-acc1 Gi1/0/52",
        1000,
        1500,
        "52:54:00:c1:00:08",
        "trunk",
    )
    assert (up.admin_status, up.oper_status) == ("up", "up")
    to_edge = core["Ethernet1/4"]
    # routed ports share the router MAC that lab-edge1 and lab-leaf1 hold in ARP
    assert (to_edge.description, to_edge.speed_mbps, to_edge.mtu, to_edge.mac) == (
        "lab-edge1 xe-0/2/0",
        10000,
        9216,
        "52:54:00:c1:00:01",
    )
    absent = core["Ethernet1/5"]
    assert (absent.admin_status, absent.oper_status, absent.speed_mbps) == ("up", "down", None)
    assert absent.description is None and absent.mac == "52:54:00:c1:00:0c"
    svi = core["Vlan20"]
    assert (svi.description, svi.mtu, svi.mac, svi.speed_mbps) == (
        "VOICE",
        1500,
        "52:54:00:c1:00:01",
        None,  # an SVI's BW is nominal
    )
    lo = core["Loopback0"]
    assert (lo.description, lo.oper_status, lo.speed_mbps, lo.mac) == (
        "router-id",
        "up",
        None,
        None,
    )
    mgmt = core["mgmt0"]
    assert (mgmt.speed_mbps, mgmt.mtu, mgmt.mac) == (1000, 1500, "52:54:00:c1:00:00")
    # addresses: "show interface" adds none "show ip interface vrf all" lacks, and the VRF
    # that only the latter names is kept
    addresses = {
        (a.interface, a.address, a.vrf) for a in snapshot.ip_addresses if a.device == "lab-core1"
    }
    assert addresses == {
        ("mgmt0", "192.168.100.11/24", "management"),
        ("Ethernet1/3", "10.0.0.2/31", None),
        ("Ethernet1/4", "10.0.0.0/31", None),
        ("Vlan10", "10.10.10.1/24", None),
        ("Vlan20", "10.10.20.1/24", None),
        ("Vlan30", "10.10.30.1/24", None),
        ("Loopback0", "10.255.0.1/32", None),
    }


def test_eos_show_interfaces_detail(lab1):
    snapshot, _ = lab1
    leaf = {i.name: i for i in snapshot.interfaces if i.device == "lab-leaf1"}
    assert set(leaf) == {
        "Ethernet1",
        "Ethernet2",
        "Ethernet10",
        "Ethernet11",
        "Ethernet12",
        "Ethernet48",
        "Loopback0",
        "Management1",
        "Port-channel10",
        "Vlan100",
        "Vxlan1",
    }
    et1 = leaf["Ethernet1"]
    # the MAC lab-core1 has in ARP for 10.0.0.3; IP MTU of a routed port
    assert (et1.description, et1.speed_mbps, et1.mtu, et1.mac, et1.mode) == (
        "lab-core1 Eth1/3",
        10000,
        9214,
        "28:99:3a:10:01:01",
        "routed",
    )
    et48 = leaf["Ethernet48"]
    assert (et48.description, et48.speed_mbps, et48.mac, et48.access_vlan) == (
        "lab-edge1 ge-0/0/1",
        1000,
        "28:99:3a:10:01:30",
        100,
    )
    member = leaf["Ethernet12"]
    assert (member.lag, member.mtu, member.oper_status) == ("Port-channel10", 9214, "up")
    po = leaf["Port-channel10"]
    assert (po.description, po.speed_mbps, po.mac, po.mode) == (
        "hv-rack4",
        20000,
        "28:99:3a:10:01:0b",
        "trunk",
    )
    # the SVI MAC lab-edge1 learns on ge-0/0/1 in SERVERS
    svi = leaf["Vlan100"]
    assert (svi.description, svi.mtu, svi.mac, svi.speed_mbps) == (
        "SERVERS",
        1500,
        "28:99:3a:10:00:30",
        None,
    )
    assert (leaf["Loopback0"].mtu, leaf["Loopback0"].speed_mbps) == (65535, None)
    ma1 = leaf["Management1"]
    assert (ma1.description, ma1.speed_mbps, ma1.mac) == (
        "oob-sw1 Gi0/13",
        1000,
        "28:99:3a:10:00:00",
    )
    assert (leaf["Vxlan1"].admin_status, leaf["Vxlan1"].mac) == ("up", None)
    addresses = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "lab-leaf1"}
    assert addresses == {
        ("Ethernet1", "10.0.0.3/31"),
        ("Loopback0", "10.255.0.3/32"),
        ("Management1", "192.168.100.13/24"),
        ("Vlan100", "10.100.0.1/24"),
    }


def test_junos_interfaces_units_fold_and_addresses(lab1):
    snapshot, _ = lab1
    xe = _iface(snapshot, "lab-edge1", "xe-0/2/0")
    assert (xe.description, xe.speed_mbps, xe.mtu, xe.mac, xe.mode) == (
        "to lab-core1 Eth1/4",
        10000,
        9192,
        "3c:61:04:e0:02:00",
        "routed",
    )
    irb = _iface(snapshot, "lab-edge1", "irb.50")
    assert irb.parent == "irb" and irb.oper_status == "up"
    ge6 = _iface(snapshot, "lab-edge1", "ge-0/0/6")
    assert ge6.oper_status == "down"
    edge_ips = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "lab-edge1"}
    assert edge_ips == {
        ("ge-0/0/47", "203.0.113.2/30"),
        ("xe-0/2/0", "10.0.0.1/31"),
        ("irb.50", "10.50.0.1/24"),
        ("lo0", "10.255.0.4/32"),
    }


def test_junos_access_ports_from_ethernet_switching_interface(lab1):
    snapshot, _ = lab1
    modes = {
        (i.name, i.mode, i.access_vlan)
        for i in snapshot.interfaces
        if i.device == "lab-edge1" and i.mode in ("access", "trunk")
    }
    # untagged in SERVERS, like lab-leaf1 Et48 (access 100) at the other end
    assert modes == {
        ("ge-0/0/1", "access", 100),
        ("ge-0/0/5", "access", 50),
        ("ge-0/0/6", "access", 1),
    }
    assert _iface(snapshot, "lab-edge1", "xe-0/2/0").mode == "routed"


def test_ip_addresses_with_vrf_and_prefix(lab1):
    snapshot, _ = lab1
    core = {
        (a.interface, a.address, a.vrf) for a in snapshot.ip_addresses if a.device == "lab-core1"
    }
    assert ("mgmt0", "192.168.100.11/24", "management") in core
    assert ("Loopback0", "10.255.0.1/32", None) in core
    assert ("Ethernet1/4", "10.0.0.0/31", None) in core
    assert len(core) == 7
    leaf = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "lab-leaf1"}
    assert ("Ethernet1", "10.0.0.3/31") in leaf and ("Vlan100", "10.100.0.1/24") in leaf
    acc1 = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "lab-acc1"}
    assert acc1 == {("Vlan30", "10.10.30.11/24")}


def test_lldp_and_cdp_entries(lab1):
    snapshot, _ = lab1
    n = {(o.device, o.protocol, o.interface): o for o in snapshot.neighbors}
    core_acc1 = n[("lab-core1", "lldp", "Ethernet1/1")]
    assert core_acc1.remote_system_name == "lab-acc1.lab.example.net"
    assert core_acc1.remote_port == "GigabitEthernet1/0/52"
    assert core_acc1.remote_chassis_id == "70:81:05:a1:00:34"
    assert core_acc1.remote_management_address == "10.10.30.11"
    assert core_acc1.capabilities == ("bridge",)
    phone = n[("lab-acc1", "cdp", "GigabitEthernet1/0/2")]
    assert phone.remote_platform == "Cisco IP Phone 8845"
    assert phone.capabilities == ("host", "phone", "two_port_mac_relay")
    assert phone.remote_port == "Port 1"
    nx_cdp = n[("lab-acc1", "cdp", "GigabitEthernet1/0/52")]
    assert nx_cdp.remote_system_name == "lab-core1"  # the (serial) suffix is dropped
    # Junos detail form ("show lldp neighbors interface <if>", our own template)
    junos = n[("lab-edge1", "lldp", "xe-0/2/0")]
    assert (junos.remote_system_name, junos.remote_port, junos.remote_port_description) == (
        "lab-core1.lab.example.net",
        "Ethernet1/4",
        "lab-edge1 xe-0/2/0",
    )
    assert junos.remote_chassis_id == "52:54:00:c1:00:01"
    assert junos.remote_management_address == "192.168.100.11"
    assert junos.remote_description == "Cisco Nexus Operating System (NX-OS) Software 10.3(4a)"
    assert junos.capabilities == ("bridge", "router")
    to_leaf = n[("lab-edge1", "lldp", "ge-0/0/1")]
    assert (to_leaf.remote_system_name, to_leaf.remote_port) == (
        "lab-leaf1.lab.example.net",
        "Ethernet48",
    )
    assert (to_leaf.remote_chassis_id, to_leaf.remote_management_address) == (
        "28:99:3a:10:00:01",
        "192.168.100.13",
    )
    assert to_leaf.remote_description.startswith("Arista Networks EOS version 4.30.4M")
    assert len([o for o in snapshot.neighbors if o.device == "lab-edge1"]) == 2


def test_detail_preferred_over_brief(lab1):
    snapshot, report = lab1
    # acc2 has both LLDP forms: detail kept (full name, chassis id); brief not read
    te = next(
        o
        for o in snapshot.neighbors
        if o.device == "lab-acc2" and o.protocol == "lldp" and o.interface.startswith("Ten")
    )
    assert te.remote_system_name == "lab-core1.lab.example.net" and te.remote_chassis_id
    assert any(f.endswith("lab-acc2/show_lldp_neighbors.txt") for f in report.skipped_files)
    assert any(f.endswith("lab-core1/show_lldp_neighbors.txt") for f in report.skipped_files)
    assert any(f.endswith("lab-acc1/show_cdp_neighbors.txt") for f in report.skipped_files)
    # Junos too: the detail form wins over "show lldp neighbors"
    assert any(f.endswith("lab-edge1/show_lldp_neighbors.txt") for f in report.skipped_files)
    assert any(
        f.endswith("lab-edge1/show_lldp_neighbors_interface.txt") for f in report.parsed_files
    )


def test_eos_brief_lldp_is_read_as_printed(lab1):
    snapshot, _ = lab1
    leaf = {o.interface: o for o in snapshot.neighbors if o.device == "lab-leaf1"}
    assert leaf["Ethernet1"].remote_system_name == "lab-core1.lab.example.ne"  # truncated
    assert leaf["Ethernet1"].remote_port == "Ethernet1/3"
    assert leaf["Management1"].remote_port == "GigabitEthernet0/13"


def test_arp_mac_vlan_tables(lab1):
    snapshot, _ = lab1
    arp = {(a.device, a.ip): a for a in snapshot.arp}
    assert arp[("lab-leaf1", "10.100.0.10")].interface == "Vlan100"
    assert arp[("lab-edge1", "10.50.0.5")].mac == "00:1b:a9:00:00:05"
    assert arp[("lab-edge1", "10.50.0.5")].interface == "irb.50"
    assert arp[("lab-core1", "10.10.20.50")].mac == "00:eb:d5:a1:b2:c3"
    macs = {(m.device, m.mac, m.vlan): m for m in snapshot.mac_table}
    # CPU and supervisor entries are not port facts
    assert not [m for m in snapshot.mac_table if m.interface.lower() in {"cpu", "sup-eth1(r)"}]
    assert macs[("lab-acc1", "00:eb:d5:a1:b2:c3", 20)].interface == "GigabitEthernet1/0/2"
    # Junos names VLANs: the tag comes from "show vlans"
    printer = macs[("lab-edge1", "00:1b:a9:00:00:05", 50)]
    assert printer.interface == "ge-0/0/5" and printer.type is MacEntryType.DYNAMIC
    assert macs[("lab-acc2", "f8:7b:20:12:00:30", 30)].type is MacEntryType.STATIC
    vlans = {(v.device, v.vlan): v.name for v in snapshot.vlans}
    assert vlans[("lab-acc1", 20)] == "VOICE" and ("lab-acc1", 1002) not in vlans
    assert vlans[("lab-edge1", 50)] == "PRINTERS" and vlans[("lab-leaf1", 100)] == "SERVERS"


def test_bgp_summaries(lab1):
    snapshot, _ = lab1
    peers = {(p.device, p.remote_address): p for p in snapshot.bgp_peers}
    up = peers[("lab-core1", "10.0.0.1")]
    assert (up.local_asn, up.remote_asn, up.state, up.prefixes_received) == (
        65000,
        65001,
        BGPState.ESTABLISHED,
        12,
    )
    assert up.uptime_seconds == 6 * 604800 + 2 * 86400
    assert peers[("lab-core1", "10.0.0.9")].state is BGPState.IDLE
    leaf = peers[("lab-leaf1", "10.0.0.2")]
    assert (leaf.state, leaf.prefixes_received, leaf.description) == (
        BGPState.ESTABLISHED,
        9,
        "lab-core1",
    )
    assert leaf.uptime_seconds == 28 * 86400 + 3600
    edge = peers[("lab-edge1", "10.0.0.0")]
    assert (edge.local_asn, edge.state, edge.prefixes_received) == (65001, "established", 9)
    assert edge.uptime_seconds == 6 * 604800 + 2 * 86400 + 4 * 3600 + 11 * 60 + 20
    isp = peers[("lab-edge1", "203.0.113.1")]
    assert (isp.state, isp.remote_asn, isp.prefixes_received) == (BGPState.ACTIVE, 64500, None)


def test_command_file_names():
    assert find_command("cisco_ios", "show_mac-address-table").command == "show mac address-table"
    assert find_command("cisco_nxos", "show_interfaces_status").command == "show interface status"
    assert find_command("juniper_junos", "show_arp_no-resolve").kinds == (FactKind.ARP,)
    assert find_command("arista_eos", "show_cdp_neighbors") is None
    assert set(COMMANDS) == {
        "cisco_ios", "cisco_nxos", "arista_eos", "juniper_junos", "cisco_asa", "linux",
    }  # fmt: skip
