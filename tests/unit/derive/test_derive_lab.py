"""Links, unmanaged neighbours, endpoints and subnets derived from the lab1 fixtures."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from meshq_graph_engine.derive import derive_all, derive_endpoints, derive_links
from network_discovery.model import Endpoint, NeighborObservation
from network_discovery.parsers import parse_directory

LAB1 = Path(__file__).resolve().parents[2] / "fixtures" / "cli" / "lab1"
WHEN = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def lab():
    snapshot, report = parse_directory(LAB1, collected_at=WHEN)
    assert report.ok
    return snapshot


@pytest.fixture(scope="module")
def derived(lab):
    return derive_all(lab)


def test_links_across_vendors_with_evidence(derived):
    got = {(link.id, link.evidence.value, link.confidence) for link in derived.links}
    assert got == {
        # IOS Gi <-> NX-OS Eth, LLDP both ends (CDP too)
        ("lab-acc1|GigabitEthernet1/0/52<->lab-core1|Ethernet1/1", "lldp_both", 1.0),
        # IOS-XE Te <-> NX-OS, IOS-XE side read from the detail form
        ("lab-acc2|TenGigabitEthernet1/1/1<->lab-core1|Ethernet1/2", "lldp_both", 1.0),
        # EOS brief form truncates the name: still matched to lab-core1
        ("lab-core1|Ethernet1/3<->lab-leaf1|Ethernet1", "lldp_both", 1.0),
        # Junos xe-0/2/0.0 / xe-0/2/0 <-> NX-OS Eth1/4
        ("lab-core1|Ethernet1/4<->lab-edge1|xe-0/2/0", "lldp_both", 1.0),
        # only CDP between the two IOS switches
        ("lab-acc1|GigabitEthernet1/0/50<->lab-acc2|GigabitEthernet1/0/48", "cdp_both", 1.0),
        # Junos sees the leaf; the leaf does not report the Junos box
        ("lab-edge1|ge-0/0/1<->lab-leaf1|Ethernet48", "lldp_one", 0.8),
        # unmanaged neighbours: phone, access point, server, out-of-scope switches
        ("lab-acc1|GigabitEthernet1/0/2<->sep00ebd5a1b2c3|00EBD5A1B2C3:P1", "lldp_one", 0.8),
        ("ap-lab-01|GigabitEthernet0<->lab-acc2|GigabitEthernet1/0/10", "lldp_one", 0.8),
        ("lab-leaf1|Ethernet2<->srv-db01|eno1", "lldp_one", 0.8),
        ("lab-core1|Ethernet1/10<->old-dist9|TenGigabitEthernet1/0/1", "lldp_one", 0.8),
        ("lab-leaf1|Management1<->oob-sw1|GigabitEthernet0/13", "lldp_one", 0.8),
    }


def test_unmanaged_neighbours(derived):
    devices = {d.id: d for d in derived.unmanaged}
    assert set(devices) == {"ap-lab-01", "old-dist9", "oob-sw1", "sep00ebd5a1b2c3", "srv-db01"}
    assert all(not d.managed for d in devices.values())
    phone = devices["sep00ebd5a1b2c3"]
    assert phone.model == "CP-8845" and phone.management_ip == "10.10.20.50"
    assert {"telephone", "phone", "two_port_mac_relay"} <= set(phone.capabilities)
    ap = devices["ap-lab-01"]
    assert ap.chassis_id == "70:69:5a:3b:4c:10" and "wlan_access_point" in ap.capabilities
    assert ap.description.startswith("Cisco AP Software")
    dist = devices["old-dist9"]
    assert dist.model == "cisco WS-C4500X-16" and dist.management_ip == "10.10.30.9"


def test_endpoints_only_on_edge_ports(derived):
    got = {(e.mac, e.device, e.interface, e.vlan, e.ips) for e in derived.endpoints}
    assert got == {
        ("00:50:56:a0:01:01", "lab-acc1", "GigabitEthernet1/0/1", 10, ("10.10.10.101",)),
        # the phone and the PC behind it share an edge port with an unmanaged neighbour
        ("00:50:56:a0:01:02", "lab-acc1", "GigabitEthernet1/0/2", 10, ("10.10.10.102",)),
        ("00:eb:d5:a1:b2:c3", "lab-acc1", "GigabitEthernet1/0/2", 20, ("10.10.20.50",)),
        ("3c:52:82:aa:00:05", "lab-acc2", "GigabitEthernet1/0/5", 10, ("10.10.10.105",)),
        ("70:69:5a:3b:4c:10", "lab-acc2", "GigabitEthernet1/0/10", 30, ("10.10.30.50",)),
        ("b8:27:eb:00:00:20", "lab-acc2", "GigabitEthernet1/0/20", 10, ()),
        ("0c:c4:7a:00:00:02", "lab-leaf1", "Ethernet2", 100, ("10.100.0.20",)),
        ("0c:c4:7a:00:00:10", "lab-leaf1", "Ethernet10", 100, ("10.100.0.10",)),
        ("00:1b:a9:00:00:05", "lab-edge1", "ge-0/0/5", 50, ("10.50.0.5",)),
        # behind an unmanaged switch: the best location known
        ("00:11:22:33:44:30", "lab-core1", "Ethernet1/10", 30, ("10.10.30.9",)),
        ("a0:b1:c2:d3:00:01", "lab-core1", "Ethernet1/10", 30, ()),
        ("a0:b1:c2:d3:00:02", "lab-core1", "Ethernet1/10", 30, ()),
        # known from ARP only
        ("00:00:5e:00:01:01", None, None, None, ("203.0.113.1",)),
        ("5c:5a:c7:00:00:01", None, None, None, ("192.168.100.1",)),
    }
    macs = {e.mac for e in derived.endpoints}
    assert "0c:c4:7a:00:00:99" not in macs  # learned over VXLAN
    assert not any(m.startswith("02:00:00:00:00") for m in macs)  # busy trunk Po10
    assert "52:54:00:c1:00:01" not in macs and "f8:7b:20:12:00:30" not in macs  # switches
    assert all(e.first_seen == WHEN == e.last_seen for e in derived.endpoints)


def test_first_seen_kept_from_known_endpoints(lab, derived):
    earlier = WHEN - timedelta(days=3)
    known = {"00:50:56:a0:01:01": Endpoint(mac="00:50:56:a0:01:01", first_seen=earlier)}
    later = WHEN + timedelta(hours=1)
    again = derive_endpoints(
        lab.interfaces,
        lab.mac_table,
        lab.arp,
        derived.links,
        devices=lab.devices,
        ip_addresses=lab.ip_addresses,
        seen_at=later,
        known=known,
    )
    pc = next(e for e in again if e.mac == "00:50:56:a0:01:01")
    assert (pc.first_seen, pc.last_seen) == (earlier, later)
    silent = next(e for e in again if e.mac == "b8:27:eb:00:00:20")
    assert silent.first_seen == later
    assert (
        len(
            derive_endpoints(
                lab.interfaces,
                lab.mac_table,
                lab.arp,
                derived.links,
                devices=lab.devices,
                ip_addresses=lab.ip_addresses,
                include_unlocated=False,
            )
        )
        == 12
    )


def test_subnets(derived):
    assert [s.id for s in derived.subnets] == [
        "10.0.0.0/31",
        "10.0.0.2/31",
        "10.10.10.0/24",
        "10.10.20.0/24",
        "10.10.30.0/24",
        "10.100.0.0/24",
        "10.255.0.1/32",
        "10.255.0.3/32",
        "10.255.0.4/32",
        "10.50.0.0/24",
        "192.168.100.0/24",
        "203.0.113.0/30",
        "management|192.168.100.0/24",
    ]


def test_same_code_on_a_union_of_facts(lab):
    """Half the devices' neighbour entries in one list, the rest in another: same links."""
    first = [n for n in lab.neighbors if n.device < "lab-d"]
    second = [n for n in lab.neighbors if n.device >= "lab-d"]
    assert derive_links(lab.devices, lab.interfaces, [*second, *first]) == derive_all(lab).links
    # without the far side, a link is one-sided
    only_core = [n for n in lab.neighbors if n.device == "lab-core1" and n.protocol == "lldp"]
    ev = {link.id: link.evidence.value for link in derive_links(lab.devices, (), only_core)}
    assert ev["lab-core1|Ethernet1/3<->lab-leaf1|Ethernet1"] == "lldp_one"


def test_mixed_protocols_and_abbreviated_ports():
    obs = [
        NeighborObservation(
            protocol="lldp",
            device="a",
            interface="Gi0/1",
            remote_system_name="b.example.net",
            remote_port="Et1",
        ),
        NeighborObservation(
            protocol="cdp",
            device="b",
            interface="Ethernet1",
            remote_system_name="a(SER123)",
            remote_port="Gig 0/1",
        ),
    ]
    from network_discovery.model import Device

    devices = [Device(hostname="a"), Device(hostname="B")]
    [link] = derive_links(devices, (), obs)
    assert link.id == "a|GigabitEthernet0/1<->b|Ethernet1"
    assert (link.evidence.value, link.confidence) == ("lldp_one", 0.9)
