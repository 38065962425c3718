"""Four recorded multi-vendor labs (tests/fixtures/real/suzieq: real NX-OS, EOS, Junos and IOS
output, as SuzieQ's poller recorded it; nothing written here) read as a user would, and
measured against what the outputs themselves say (tests/support/real_labs.py reads them
without the product's parsers)."""

from __future__ import annotations

import pytest
from meshq_graph_engine.derive import derive_all
from network_discovery.model import normalise_mac
from network_discovery.parsers import parse_directory
from support import real_labs

LABS = ("nxos", "eos", "junos", "mixed")


@pytest.fixture(scope="module", params=LABS)
def lab(request: pytest.FixtureRequest):
    snapshot, report = parse_directory(real_labs.LABS / request.param)
    return request.param, snapshot, report, derive_all(snapshot)


def _cables(snapshot, derived) -> set:
    managed = {d.id for d in snapshot.devices if d.managed}
    return {
        (min(a, b), max(a, b))
        for link in derived.links
        if {link.a.device, link.b.device} <= managed
        for a, b in [((link.a.device, link.a.interface), (link.b.device, link.b.interface))]
    }


def test_every_cable_the_devices_report_and_none_invented(lab) -> None:
    name, snapshot, _, derived = lab
    truth, found = real_labs.links(name), _cables(snapshot, derived)
    assert found - truth == set(), "links no neighbour entry tells of"
    assert len(truth & found) >= 0.95 * len(truth), sorted(truth - found)


def test_every_collected_device_is_managed_with_platform_and_version(lab) -> None:
    name, snapshot, report, _ = lab
    records = {d.id: d for d in snapshot.devices if d.managed}
    for device, platform in real_labs.devices(name).items():
        record = records[device]
        assert (record.platform, bool(record.os_version), bool(record.model)) == (
            platform,
            True,
            True,
        ), device
    assert report.empty_devices == []


def test_interface_addresses(lab) -> None:
    name, snapshot, _, _ = lab
    truth = real_labs.addresses(name)
    found = {(a.device, a.ip) for a in snapshot.ip_addresses}
    assert len(truth & found) >= 0.95 * len(truth), sorted(truth - found)


def test_arp_entries_are_read_and_hosts_are_answerable_by_ip(lab) -> None:
    name, snapshot, _, derived = lab
    truth = {(d, ip, normalise_mac(mac)) for d, ip, mac in real_labs.arp(name)}
    found = {(e.device, e.ip, e.mac) for e in snapshot.arp}
    assert len(truth & found) >= 0.95 * len(truth), sorted(truth - found)
    # an address that is no collected device's own belongs to an endpoint
    own = {a.ip for a in snapshot.ip_addresses}
    hosts = {ip for _, ip, _ in truth if ip not in own}
    answered = {ip for endpoint in derived.endpoints for ip in endpoint.ips}
    assert len(hosts & answered) >= 0.95 * len(hosts), sorted(hosts - answered)


def test_nothing_fails_to_parse(lab) -> None:
    _, _, report, _ = lab
    assert report.errors == []


def test_junos_bgp_sessions_take_the_local_as_from_show_bgp_neighbor() -> None:
    """vQFX summaries print no local AS; the recorded show bgp neighbor does (64520)."""
    snapshot, report = parse_directory(real_labs.LABS / "junos")
    peers = [p for p in snapshot.bgp_peers if p.device == "leaf01"]
    assert peers and {p.local_asn for p in peers} == {64520}
    assert not [w for w in report.warnings if "bgp_asn" in w.message]
