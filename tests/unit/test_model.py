"""The graph model: normalisation, ids, entity validation, snapshots and metadata patches."""

# The tests hand the models raw input (strings for enums, dicts, lists) on purpose.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from network_discovery.model import (
    VLAN,
    BGPPeer,
    Device,
    Endpoint,
    FactKind,
    Interface,
    IPAddress,
    Link,
    LinkEvidence,
    MetadataPatch,
    NeighborObservation,
    Snapshot,
    Subnet,
    bgp_peer_id,
    canonical_interface_name,
    device_id,
    endpoint_id,
    interface_id,
    ip_id,
    link_id,
    normalise_asn,
    normalise_hostname,
    normalise_mac,
    parse_vlan_ranges,
    short_hostname,
    subnet_id,
    vlan_id,
)
from pydantic import ValidationError

# --- MAC addresses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "notation",
    [
        "aa:bb:cc:0d:ee:ff",
        "AA:BB:CC:0D:EE:FF",
        "AA-BB-CC-0D-EE-FF",
        "aabb.cc0d.eeff",
        "AABB.CC0D.EEFF",
        "aabbcc0deeff",
        "aabb-cc0d-eeff",
        "aabbcc-0deeff",
        "aa:bb:cc:d:ee:ff",
        "  aa:bb:cc:0d:ee:ff\n",
    ],
)
def test_mac_notations_normalise_to_one_form(notation: str) -> None:
    assert normalise_mac(notation) == "aa:bb:cc:0d:ee:ff"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "aa:bb:cc:dd:ee",
        "aa:bb:cc:dd:ee:ff:00",
        "gg:bb:cc:dd:ee:ff",
        "aa:bb-cc:dd:ee:ff",
        "aabb.ccdd.eef",
        "aab.bccd.deef.f",
        "aabbccddeeff0",
        "not a mac",
        "10.0.0.1",
    ],
)
def test_bad_mac_is_refused_with_a_clear_message(bad: str) -> None:
    with pytest.raises(ValueError, match=r"invalid MAC address .*expected 12 hex digits"):
        normalise_mac(bad)


def test_bad_mac_in_a_model_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        Endpoint(mac="zz:zz:zz:zz:zz:zz")
    assert info.value.errors()[0]["loc"] == ("mac",)
    assert "invalid MAC address 'zz:zz:zz:zz:zz:zz'" in str(info.value)


# --- interface names -------------------------------------------------------------------

CANONICAL_NAMES = [
    # Cisco IOS / IOS-XE
    ("Gi0/1", "GigabitEthernet0/1"),
    ("gi0/1", "GigabitEthernet0/1"),
    ("Gig 1/0/1", "GigabitEthernet1/0/1"),
    ("GigabitEthernet1/0/1", "GigabitEthernet1/0/1"),
    ("Te1/0/1", "TenGigabitEthernet1/0/1"),
    ("Ten 1/1/1", "TenGigabitEthernet1/1/1"),
    ("Tw1/0/3", "TwoGigabitEthernet1/0/3"),
    ("Twe1/0/1", "TwentyFiveGigE1/0/1"),
    ("Fo1/1/1", "FortyGigabitEthernet1/1/1"),
    ("Hu1/0/25", "HundredGigE1/0/25"),
    ("Fa0/24", "FastEthernet0/24"),
    ("Po1", "Port-channel1"),
    ("Vl99", "Vlan99"),
    ("Lo0", "Loopback0"),
    ("Gi0/1.100", "GigabitEthernet0/1.100"),
    # IOS-XR
    ("TenGigE0/0/0/0", "TenGigabitEthernet0/0/0/0"),
    ("BE10", "Bundle-Ether10"),
    # NX-OS
    ("Eth1/1", "Ethernet1/1"),
    ("port-channel10", "Port-channel10"),
    ("loopback0", "Loopback0"),
    ("mgmt0", "mgmt0"),
    # Arista EOS
    ("Et1", "Ethernet1"),
    ("Et49/1", "Ethernet49/1"),
    ("Ethernet49/1", "Ethernet49/1"),
    ("Ma1", "Management1"),
    ("Port-Channel1000", "Port-channel1000"),
    ("Vxlan1", "Vxlan1"),
    # Juniper Junos: unit 0 folds into the port, other units are sub-interfaces
    ("xe-0/0/1.0", "xe-0/0/1"),
    ("xe-0/0/1", "xe-0/0/1"),
    ("ge-0/0/4.0", "ge-0/0/4"),
    ("xe-0/0/1.100", "xe-0/0/1.100"),
    ("et-0/0/0:2", "et-0/0/0:2"),
    ("ae0.0", "ae0"),
    ("lo0.0", "lo0"),
    ("irb.100", "irb.100"),
    ("vlan.20", "vlan.20"),
    ("fxp0.0", "fxp0"),
    # PAN-OS and others
    ("ethernet1/1", "Ethernet1/1"),
    ("loopback.1", "loopback.1"),
    ("port1", "port1"),
    # not interface names: kept as sent
    ("Port 1", "Port 1"),
    ("eth0", "eth0"),
    ("vmnic0", "vmnic0"),
    ("aabb.ccdd.eeff", "aabb.ccdd.eeff"),
    ("be12.3456.7890", "be12.3456.7890"),
]


@pytest.mark.parametrize(("name", "canonical"), CANONICAL_NAMES)
def test_interface_names_canonicalise_across_vendors(name: str, canonical: str) -> None:
    assert canonical_interface_name(name) == canonical
    assert canonical_interface_name(canonical) == canonical  # idempotent


def test_platform_settles_lo0() -> None:
    assert canonical_interface_name("lo0") == "lo0"
    assert canonical_interface_name("lo0", "juniper_junos") == "lo0"
    assert canonical_interface_name("lo0", "cisco_ios") == "Loopback0"
    assert canonical_interface_name("Lo0", "juniper_junos") == "lo0"


@pytest.mark.parametrize("bad", ["", "   ", "Gi0/1|x"])
def test_bad_interface_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid interface name"):
        canonical_interface_name(bad)


def test_short_and_long_names_give_one_interface_id() -> None:
    assert interface_id("SW1", "Gi1/0/1") == interface_id("sw1", "GigabitEthernet1/0/1")
    assert interface_id("sw1", "Gi1/0/1") == "sw1|GigabitEthernet1/0/1"
    assert Interface(device="SW1", name="Te1/1/1").id == "sw1|TenGigabitEthernet1/1/1"


def test_huge_names_are_refused_before_any_work() -> None:
    with pytest.raises(ValueError, match="longer than 255 characters"):
        canonical_interface_name("Gi" * 100_000)
    with pytest.raises(ValueError, match="longer than 255 characters"):
        device_id("a" * 100_000)
    with pytest.raises(ValidationError, match="at most 128 characters"):
        Interface(device="sw1", name="x" * 129)


# --- other normalisation ---------------------------------------------------------------


def test_hostnames() -> None:
    assert device_id("  Core-01. ") == "core-01"
    assert short_hostname("Core-01.HQ.example.net") == "core-01"
    assert short_hostname("10.0.0.1") == "10.0.0.1"
    with pytest.raises(ValueError, match="host name"):
        normalise_hostname("a|b")
    # a neighbour's free-text system name: its chassis id, else a slug of it
    assert device_id("HP ProCurve 2510", chassis_id="00:11:22:33:44:55") == (
        "chassis:00:11:22:33:44:55"
    )
    assert device_id("HP ProCurve 2510") == "hp-procurve-2510"


@pytest.mark.parametrize(
    "name",
    [
        'sw-inj ansible_ssh_common_args="-o ProxyCommand=touch /tmp/x"',
        "sw1;reboot",
        "sw$(id)",
        "../../etc/passwd",
        "sw'1",
        "a..b",
        "sw/1",
        "sw=1",
    ],
)
def test_host_names_that_another_format_would_read_as_syntax_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="only letters, digits"):
        normalise_hostname(name)
    with pytest.raises(ValidationError, match="only letters, digits"):
        Device(hostname=name)


def test_asn_and_vlan_lists() -> None:
    assert normalise_asn("65010") == 65010
    assert normalise_asn("AS65010") == 65010
    assert normalise_asn("1.10") == 65546
    assert normalise_asn(4_200_000_000) == 4_200_000_000
    for bad in ("0", "1.70000", "x", "-1", 2**32):
        with pytest.raises(ValueError, match="AS number"):
            normalise_asn(bad)
    assert parse_vlan_ranges("1-3,10, 20-21") == (1, 2, 3, 10, 20, 21)
    with pytest.raises(ValueError, match="VLAN list"):
        parse_vlan_ranges("1-5000")


# --- ids -------------------------------------------------------------------------------


def test_ids_are_deterministic_and_derived_from_natural_keys() -> None:
    a = Interface(device="SW1", name="Gi0/1", description="x")
    b = Interface(device="sw1", name="GigabitEthernet0/1", description="y")
    assert a.id == b.id
    assert Device(hostname="SW1").id == Device(hostname="sw1", vendor="Cisco").id == "sw1"
    assert Endpoint(mac="AABB.CCDD.EEFF").id == endpoint_id("aa-bb-cc-dd-ee-ff")
    assert IPAddress(device="r1", interface="Vl10", address="10.1.10.2/24").id == (
        ip_id("R1", "Vlan10", "10.1.10.2/24")
    )
    assert ip_id("r1", "Vl10", "2001:DB8::0001/64") == "r1|Vlan10|2001:db8::1/64"
    assert subnet_id("10.1.10.0/24") == "10.1.10.0/24"
    assert subnet_id("10.1.10.0/24", vrf="blue") == "blue|10.1.10.0/24"
    assert vlan_id(110, device="SW1") == "sw1|vlan:110"
    assert vlan_id(110, site="HQ") == "site:hq|vlan:110"
    assert bgp_peer_id("R1", "203.0.113.1") == "r1|bgp|default|203.0.113.1"
    assert device_id(chassis_id="00EB.D500.0071") == "chassis:00:eb:d5:00:00:71"
    assert device_id(management_ip="10.0.0.9") == "ip:10.0.0.9"


def test_link_id_is_the_same_from_either_end() -> None:
    one = Link(
        a={"device": "sw2", "interface": "Gi0/1"},
        b={"device": "sw1", "interface": "Et1"},
        evidence="lldp_both",
    )
    other = Link(
        a={"device": "SW1", "interface": "Ethernet1"},
        b={"device": "SW2", "interface": "GigabitEthernet0/1"},
        evidence="lldp_both",
    )
    assert one == other
    assert one.id == link_id("sw2|GigabitEthernet0/1", "sw1|Ethernet1")
    assert one.id == "sw1|Ethernet1<->sw2|GigabitEthernet0/1"
    assert one.a.device == "sw1"


def test_link_confidence_defaults_from_evidence() -> None:
    ends = {"a": {"device": "a", "interface": "Et1"}, "b": {"device": "b", "interface": "Et1"}}
    assert Link(**ends, evidence="lldp_both").confidence == 1.0
    assert Link(**ends, evidence="cdp_one").confidence == 0.8
    assert Link(**ends, evidence="mac_arp_inferred").confidence == 0.5
    assert Link(**ends, evidence=LinkEvidence.NETBOX_DECLARED, confidence=0.3).confidence == 0.3
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Link(**ends, evidence="lldp_one", confidence=1.5)
    with pytest.raises(ValidationError, match="two different interfaces"):
        Link(a=ends["a"], b={"device": "A", "interface": "Ethernet1"}, evidence="lldp_one")


# --- entities --------------------------------------------------------------------------


def test_models_are_frozen_and_strict() -> None:
    device = Device(hostname="sw1")
    with pytest.raises(ValidationError):
        device.hostname = "sw2"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Device(hostname="sw1", colour="blue")  # type: ignore[call-arg]


def test_device_identity_rules() -> None:
    with pytest.raises(ValidationError, match=r"managed .* needs a hostname"):
        Device(chassis_id="aa:bb:cc:dd:ee:ff")
    phone = Device(chassis_id="AABB.CCDD.EEFF", managed=False, capabilities=("Telephone",))
    assert phone.id == "chassis:aa:bb:cc:dd:ee:ff"
    assert phone.capabilities == ("telephone",)
    assert Device(hostname="sw1", os_version="").os_version is None
    assert Device(hostname="sw1", role="Core").role == "core"


def test_interface_fields() -> None:
    port = Interface(
        device="sw1",
        name="Gi1/0/1",
        mac="0000.0c12.3456",
        mode="trunk",
        trunk_vlans=[30, 10, 10, 20],
        lag="Po1",
    )
    assert port.mac == "00:00:0c:12:34:56"
    assert port.trunk_vlans == (10, 20, 30)
    assert port.lag == "Port-channel1"
    with pytest.raises(ValidationError):
        Interface(device="sw1", name="Gi1/0/1", access_vlan=5000)
    with pytest.raises(ValidationError, match="member of itself"):
        Interface(device="sw1", name="Po1", lag="Port-channel1")


def test_addresses_ipv4_and_ipv6() -> None:
    v4 = IPAddress(device="r1", interface="Gi0/0", address="10.1.10.2/24")
    assert (v4.ip, v4.prefix_length, v4.version, v4.network) == ("10.1.10.2", 24, 4, "10.1.10.0/24")
    v6 = IPAddress(device="r1", interface="Gi0/0", address="2001:DB8:0:0::2/64")
    assert (v6.address, v6.version, v6.network) == ("2001:db8::2/64", 6, "2001:db8::/64")
    assert Subnet.of(v6).id == "2001:db8::/64"
    assert Subnet(cidr="10.1.10.0/24").contains("10.1.10.77")
    with pytest.raises(ValidationError, match="prefix length"):
        IPAddress(device="r1", interface="Gi0/0", address="10.1.10.2")
    with pytest.raises(ValidationError, match="host bits set"):
        Subnet(cidr="10.1.10.1/24")


def test_vlan_belongs_to_a_device_or_a_site() -> None:
    assert VLAN(vlan=10, device="SW1").id == "sw1|vlan:10"
    assert VLAN(vlan=10, site="hq").id == "site:hq|vlan:10"
    with pytest.raises(ValidationError, match="exactly one"):
        VLAN(vlan=10)
    with pytest.raises(ValidationError, match="exactly one"):
        VLAN(vlan=10, device="sw1", site="hq")


def test_endpoint_ips_and_times() -> None:
    seen = datetime(2026, 1, 1, tzinfo=UTC)
    endpoint = Endpoint(
        mac="AA-BB-CC-DD-EE-FF",
        ips=["2001:db8::5", "10.0.0.9", "10.0.0.10", "10.0.0.9"],
        device="SW1",
        interface="Gi1/0/5",
        first_seen=seen,
        last_seen=seen,
    )
    assert endpoint.ips == ("10.0.0.9", "10.0.0.10", "2001:db8::5")
    assert endpoint.located and endpoint.interface == "GigabitEthernet1/0/5"
    with pytest.raises(ValidationError, match="last_seen is before first_seen"):
        Endpoint(mac="aabbccddeeff", first_seen=seen, last_seen=seen.replace(year=2025))
    with pytest.raises(ValidationError, match="timezone"):
        Endpoint(mac="aabbccddeeff", first_seen=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="needs its device"):
        Endpoint(mac="aabbccddeeff", interface="Gi1/0/1")


def test_bgp_peer() -> None:
    peer = BGPPeer(
        device="R1",
        local_asn="65010",
        remote_address="2001:db8:64:a::1",
        remote_asn="AS64496",
        state="established",
    )
    assert peer.external and peer.established
    assert peer.id == "r1|bgp|default|2001:db8:64:a::1"
    with pytest.raises(ValidationError):
        BGPPeer(device="r1", local_asn=1, remote_address="x", remote_asn=2, state="up")


def test_neighbor_observation() -> None:
    entry = NeighborObservation(
        protocol="lldp",
        device="SW1",
        interface="Gi1/0/1",
        remote_system_name="core-01.example.net",
        remote_port="Eth1/49",
        remote_chassis_id="0000.0C12.3456",
        capabilities=("Bridge", "Router"),
    )
    assert entry.interface == "GigabitEthernet1/0/1"
    assert entry.remote_port == "Ethernet1/49"
    assert entry.remote_chassis_id == "00:00:0c:12:34:56"
    assert entry.remote_device_id == "core-01.example.net"
    with pytest.raises(ValidationError, match="remote_system_name or remote_chassis_id"):
        NeighborObservation(protocol="lldp", device="sw1", interface="Gi1/0/1")


# --- snapshots -------------------------------------------------------------------------


def _snapshot(**facts: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "snapshot_id": "snap-1",
        "source": "cli",
        "collected_at": "2026-01-01T00:00:00Z",
        "scope": [
            {"device": "SW1", "facts": ["device", "interfaces", "ip_addresses", "lldp"]},
            {"device": "sw2", "facts": ["interfaces"]},
        ],
        "devices": [{"hostname": "SW1"}],
        "interfaces": [
            {"device": "sw1", "name": "Gi0/1"},
            {"device": "SW2", "name": "Gi0/1"},
        ],
    }
    data.update(facts)
    return data


def test_a_valid_snapshot_round_trips() -> None:
    snapshot = Snapshot.model_validate(_snapshot())
    assert snapshot.scope_map() == {
        "sw1": frozenset(
            {FactKind.DEVICE, FactKind.INTERFACES, FactKind.IP_ADDRESSES, FactKind.LLDP}
        ),
        "sw2": frozenset({FactKind.INTERFACES}),
    }
    assert snapshot.counts()["interfaces"] == 2
    assert Snapshot.model_validate_json(snapshot.model_dump_json()) == snapshot


def test_fact_outside_the_scope_is_refused_by_name() -> None:
    stray = {"device": "sw9", "interface": "Vlan10", "address": "10.0.0.1/24"}
    with pytest.raises(ValidationError) as info:
        Snapshot.model_validate(_snapshot(ip_addresses=[stray]))
    message = str(info.value)
    assert "ip_addresses[0] (sw9|Vlan10|10.0.0.1/24)" in message
    assert "device 'sw9' is not in the snapshot's scope" in message


def test_fact_kind_not_declared_is_refused() -> None:
    arp = {"device": "sw2", "ip": "10.0.0.5", "mac": "aabb.ccdd.eeff"}
    cdp = {"protocol": "cdp", "device": "sw1", "interface": "Gi0/1", "remote_system_name": "x"}
    with pytest.raises(ValidationError) as info:
        Snapshot.model_validate(_snapshot(arp=[arp], neighbors=[cdp]))
    message = str(info.value)
    assert "arp[0] (sw2|arp|default|10.0.0.5): fact kind 'arp' is not declared" in message
    assert "neighbors[0]" in message and "fact kind 'cdp' is not declared" in message


def test_other_snapshot_errors() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"scope": [{"device": "sw1", "facts": ["firewal"]}]}, "firewall"),
        (
            {"scope": [{"device": "sw1", "facts": []}], "devices": [], "interfaces": []},
            "at least 1",
        ),
        ({"devices": []}, "declares 'device' but 'devices' has no entry"),
        ({"devices": [{"hostname": "sw1"}, {"hostname": "SW1"}]}, "'sw1' appears 2 times"),
        (
            {"devices": [{"hostname": "sw1"}, {"hostname": "ph1", "managed": False}]},
            "only the devices it collected",
        ),
        ({"endpoints": [{"mac": "aabbccddeeff"}]}, "names no device"),
        ({"collected_at": "2026-01-01T00:00:00"}, "timezone"),
        ({"snapshot_id": "has space"}, "snapshot_id"),
    ]
    for change, expected in cases:
        with pytest.raises(ValidationError, match=expected):
            Snapshot.model_validate(_snapshot(**change))


def test_links_belong_to_a_scope_device_at_either_end() -> None:
    link = {
        "a": {"device": "sw1", "interface": "Gi0/1"},
        "b": {"device": "sw9", "interface": "Gi0/2"},
        "evidence": "netbox_declared",
    }
    with pytest.raises(ValidationError, match="fact kind 'links' is not declared"):
        Snapshot.model_validate(_snapshot(links=[link]))
    scope = [{"device": "sw1", "facts": ["device", "interfaces", "links"]}]
    snapshot = Snapshot.model_validate(
        _snapshot(scope=scope, interfaces=[], links=[link], devices=[{"hostname": "sw1"}])
    )
    assert snapshot.links[0].confidence == 0.7


# --- metadata patches ------------------------------------------------------------------


def test_metadata_patch() -> None:
    patch = MetadataPatch(
        hostname="SW1", source="netbox", site="hq", tags=["b", "a", "a"], clear=["rack"]
    )
    assert patch.device_id == "sw1"
    assert patch.time.tzinfo is not None
    assert patch.changes() == {"site": "hq", "tags": ("a", "b"), "rack": None}
    device = Device(hostname="SW1", rack="r9", role="access")
    patched = patch.apply(device)
    assert (patched.site, patched.rack, patched.tags, patched.role) == (
        "hq",
        None,
        ("a", "b"),
        "access",
    )
    with pytest.raises(ValueError, match="cannot apply to device sw2"):
        patch.apply(Device(hostname="sw2"))


def test_metadata_patch_errors() -> None:
    with pytest.raises(ValidationError, match="changes nothing"):
        MetadataPatch(hostname="sw1", source="user")
    with pytest.raises(ValidationError, match="site cannot be both set and cleared"):
        MetadataPatch(hostname="sw1", source="user", site="hq", clear=["site"])
    with pytest.raises(ValidationError, match="Extra inputs"):
        MetadataPatch(hostname="sw1", source="user", os_version="1.0")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="'netbox' or 'user'"):
        MetadataPatch(hostname="sw1", source="api", site="hq")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="netbox_platform come from NetBox only"):
        MetadataPatch(hostname="sw1", source="user", netbox_platform="Cisco IOS")
    with pytest.raises(ValidationError, match="netbox_id come from NetBox only"):
        MetadataPatch(hostname="sw1", source="user", site="hq", clear=["netbox_id"])
    assert MetadataPatch(hostname="sw1", source="netbox", clear=["netbox_id"]).changes() == {
        "netbox_id": None
    }


def test_a_netbox_patch_records_netbox_platform_beside_the_discovered_one() -> None:
    patch = MetadataPatch(
        hostname="sw1",
        source="netbox",
        netbox_platform="Cisco IOS",
        netbox_platform_slug="cisco-ios",
    )
    patched = patch.apply(Device(hostname="sw1", platform="arista_eos"))
    assert (patched.platform, patched.netbox_platform, patched.netbox_platform_slug) == (
        "arista_eos",
        "Cisco IOS",
        "cisco-ios",
    )


def test_the_documented_examples_are_valid() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "snapshot-format.md"
    snapshot, patch = re.findall(r"```json\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert Snapshot.model_validate_json(snapshot).counts()["interfaces"] == 3
    assert MetadataPatch.model_validate_json(patch).changes()["tenant"] is None
