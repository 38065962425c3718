"""Real text output of five Cisco releases (IOS 15.2, IOSv 15.7, IOS-XE 16.4, NX-OS 9.2 and
10.3; tests/fixtures/real/sweep) reads cleanly: identity, interfaces, addresses, routes."""

from __future__ import annotations

from pathlib import Path

from network_discovery.parsers import parse_directory

SWEEP = Path(__file__).parents[2] / "fixtures" / "real" / "sweep"


def test_every_release_reads_without_errors() -> None:
    snapshot, report = parse_directory(SWEEP)
    assert report.errors == []
    devices = {d.id: d for d in snapshot.devices}
    assert {k: (d.model, d.os_version) for k, d in devices.items()} == {
        "ios152-c7200": ("7206VXR", "15.2(4)S5"),
        "iosv157-ce1": ("IOSv", "15.7(3)M3"),
        "iosxe164-d1": ("CSR1000V", "16.4.1"),
        "nxos92-nxos1": ("Nexus9000 9000v Chassis", "9.2(3)"),
        "nxos103-r1": ("Nexus9000 C9300v Chassis", "10.3(9)"),
    }
    for summary in report.devices:
        facts = summary.facts
        assert facts["interfaces"] and facts["addresses"] and facts["routes"], summary
