"""The bundled demo network: its shape, its deliberate flaws, and that it is reproducible."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from network_discovery import demo
from network_discovery.demo import generate
from network_discovery.model import (
    FactKind,
    Snapshot,
    canonical_interface_name,
    interface_id,
    short_hostname,
)


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return demo.load_snapshot()


def _links(snapshot: Snapshot) -> dict[tuple[str, str], tuple[str, str]]:
    """LLDP entries between collected devices: (device, port) -> (remote device, port)."""
    platform = {d.id: d.platform for d in snapshot.devices}
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for entry in snapshot.neighbors:
        if entry.protocol != "lldp" or not entry.remote_system_name or not entry.remote_port:
            continue
        remote = short_hostname(entry.remote_system_name)
        if remote in platform:
            port = canonical_interface_name(entry.remote_port, platform[remote])
            seen[(entry.device, entry.interface)] = (remote, port)
    return seen


def test_the_generator_reproduces_the_committed_file() -> None:
    assert generate.render() == demo.snapshot_text()
    assert generate.render() == generate.render()


def test_generator_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "demo.json"
    assert generate.main(["--output", str(target), "--check"]) == 1
    assert generate.main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == demo.snapshot_text()
    assert generate.main(["--output", str(target), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_the_file_is_raw_vendor_output_that_the_model_normalises(snapshot: Snapshot) -> None:
    raw = json.loads(demo.snapshot_text())
    raw_ports = {n["interface"] for n in raw["neighbors"]}
    assert {"Eth1/49", "Et49/1", "Ma1", "Te1/1/1", "ethernet1/1"} <= raw_ports
    assert any(m["interface"].endswith(".0") for m in raw["mac_table"])  # Junos units
    assert any("." in m["mac"] and ":" not in m["mac"] for m in raw["mac_table"])  # Cisco dots
    assert all(":" in m.mac for m in snapshot.mac_table)
    assert "Ethernet1/49" in {n.interface for n in snapshot.neighbors}


def test_at_least_thirty_collected_devices_of_several_vendors(snapshot: Snapshot) -> None:
    managed = [d for d in snapshot.devices if d.managed]
    assert len(managed) >= 30
    assert {d.platform for d in managed} >= {
        "cisco_ios",
        "cisco_nxos",
        "arista_eos",
        "juniper_junos",
        "paloalto_panos",
    }
    roles = Counter(d.role for d in managed)
    assert roles["core"] == 2 and roles["distribution"] == 2 and roles["access"] >= 12
    assert roles["spine"] == 2 and 4 <= roles["leaf"] <= 6 and roles["border"] == 2
    assert {e.device for e in snapshot.scope} == {d.id for d in managed}


def test_every_inter_switch_link_is_seen_from_both_ends(snapshot: Snapshot) -> None:
    seen = _links(snapshot)
    assert len(seen) >= 2 * 60
    unpaired = {here: there for here, there in seen.items() if seen.get(there) != here}
    assert unpaired == {}
    ports = {i.id for i in snapshot.interfaces}
    for device, port in seen:
        assert interface_id(device, port) in ports


def test_names_differ_between_the_two_ends(snapshot: Snapshot) -> None:
    raw = json.loads(demo.snapshot_text())
    fqdn = [n for n in raw["neighbors"] if "." in n.get("remote_system_name", "")]
    short_port_ids = [n for n in raw["neighbors"] if n.get("remote_port", "").startswith("Hu")]
    assert fqdn and short_port_ids
    assert any(n.get("remote_port") == "xe-0/2/0.0" for n in raw["neighbors"])


def test_two_firewalls_and_a_bgp_edge(snapshot: Snapshot) -> None:
    firewalls = [d for d in snapshot.devices if d.role == "firewall"]
    assert len(firewalls) >= 2
    assert len({d.vendor for d in firewalls}) == 2
    local_asns = {p.local_asn for p in snapshot.bgp_peers}
    addresses = {a.ip for a in snapshot.ip_addresses}
    external = [p for p in snapshot.bgp_peers if p.remote_asn not in local_asns]
    assert {p.remote_asn for p in external} == {64496, 64499}
    assert all(p.remote_address not in addresses for p in external)  # the ISPs: not collected
    assert {p.device for p in external} == {"hq-border-01", "hq-border-02"}
    assert any(":" in p.remote_address for p in external)
    assert [p.remote_address for p in snapshot.bgp_peers if not p.established] == [
        "2001:db8:64:b::1"
    ]


def test_endpoints_on_access_ports(snapshot: Snapshot) -> None:
    ports = {i.id: i for i in snapshot.interfaces}
    with_neighbour = {(n.device, n.interface) for n in snapshot.neighbors}
    roles = {d.id: d.role for d in snapshot.devices}
    edge = [
        m
        for m in snapshot.mac_table
        if ports[interface_id(m.device, m.interface)].mode == "access"
        and (m.device, m.interface) not in with_neighbour
    ]
    assert len({m.mac for m in edge}) >= 200
    assert {roles[m.device] for m in edge} == {"access", "leaf"}
    arp_macs = {a.mac for a in snapshot.arp}
    assert len({m.mac for m in edge} & arp_macs) >= 150
    unmanaged = [n for n in snapshot.neighbors if short_hostname(n.remote_device_id) not in roles]
    capabilities = {c for n in unmanaged for c in n.capabilities}
    assert {"telephone", "wlan_access_point"} <= capabilities


def test_facts_point_at_interfaces_that_exist(snapshot: Snapshot) -> None:
    ports = {i.id for i in snapshot.interfaces}
    named = [
        *((f.device, f.interface) for f in snapshot.ip_addresses),
        *((f.device, f.interface) for f in snapshot.mac_table),
        *((f.device, f.interface) for f in snapshot.neighbors),
    ]
    for device, interface in named:
        assert interface_id(device, interface) in ports, (device, interface)
    for entry in snapshot.arp:
        assert entry.interface is None or interface_id(entry.device, entry.interface) in ports


def test_the_deliberate_hygiene_findings(snapshot: Snapshot) -> None:
    assert [d.id for d in snapshot.devices if not d.os_version] == ["hq-b-acc-06"]
    assert [i.id for i in snapshot.interfaces if not i.description] == [
        "hq-a-acc-03|GigabitEthernet1/0/17"
    ]
    used = Counter((a.ip, a.vrf) for a in snapshot.ip_addresses)
    assert [ip for (ip, _), n in used.items() if n > 1] == ["10.2.30.2"]
    orphan = [a for a in snapshot.ip_addresses if a.network == "10.1.50.0/24"]
    assert [a.id for a in orphan] == ["hq-dist-02|Vlan150|10.1.50.2/24"]
    assert not any(a.ip.startswith("10.1.50.") for a in snapshot.arp)
    nameless = [n for n in snapshot.neighbors if not n.remote_system_name]
    assert len(nameless) == 1 and nameless[0].remote_device_id.startswith("chassis:")
    with_neighbours = {n.device for n in snapshot.neighbors}
    assert [d.id for d in snapshot.devices if d.id not in with_neighbours] == ["hq-lab-01"]


def test_scope_declares_what_each_device_reported(snapshot: Snapshot) -> None:
    scope = snapshot.scope_map()
    assert FactKind.BGP in scope["hq-border-01"]
    assert FactKind.MAC_TABLE not in scope["hq-core-01"]
    firewalls = {d for d, kinds in scope.items() if FactKind.FIREWALL in kinds}
    assert firewalls == {"fw-edge-01", "fw-dc-01"}
    routed = {d for d, kinds in scope.items() if FactKind.ROUTES in kinds}
    assert {"hq-dist-01", "hq-core-01", "fw-edge-01", "fw-dc-01", "dc-leaf-05"} <= routed
    assert FactKind.ROUTES not in scope["hq-a-acc-01"]


def test_load_demo_needs_the_stacks_front_door() -> None:
    with pytest.raises(ValueError, match="no 'gateway' and 'api_key'"):
        demo.load_demo({})
    with pytest.raises(ValueError, match="no 'gateway' and 'api_key'"):
        demo.load_demo({"gateway": "http://127.0.0.1:9", "kafka": "127.0.0.1:9092"})
