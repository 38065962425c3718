"""Devices from public lab captures, parsed by the product's own parsers, matched against the
real advisories of tests/fixtures/vuln; every expected finding is worked out by hand in
tests/fixtures/vuln/README.md ("Expected matches")."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from network_discovery.parsers.directory import parse_directory
from network_discovery.vuln.load import read_path
from network_discovery.vuln.match import DeviceFacts, match_device
from network_discovery.vuln.model import Advisory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
LABS = [
    FIXTURES / "real" / "sweep",
    FIXTURES / "real" / "ios" / "configs",
    FIXTURES / "real" / "eos" / "lab-validation" / "text",
    FIXTURES / "real" / "junos" / "configs" / "juniper_resolution",
    FIXTURES / "real" / "routing" / "nxos_ebgp_loop_prevention",
]


@cache
def advisories() -> tuple[Advisory, ...]:
    report = read_path(FIXTURES / "vuln")
    assert not report.errors
    return tuple(report.records)


@cache
def lab_devices() -> dict[str, DeviceFacts]:
    out = {}
    for root in LABS:
        snapshot, _report = parse_directory(root)
        for d in snapshot.devices:
            if d.managed and d.os_version:
                out[d.id] = DeviceFacts(
                    device=d.id,
                    hostname=d.hostname,
                    platform=d.platform,
                    model=d.model,
                    os_version=d.os_version,
                    settings_source=d.settings_source,
                    remote_access=tuple(d.remote_access),
                    snmp_versions=tuple(d.snmp_versions),
                )
    return out


def _findings(facts: DeviceFacts) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(f.advisory.cve or "", f.status, f.fixed_in) for f in match_device(facts, advisories())}


SMI = ("CVE-2018-0171", "affected if configured", ())
NXAPI_IF_CONFIGURED = ("CVE-2021-1227", "affected if configured", ())
LAB_EXPECTED = {
    # 15.2(4)S5 and 15.7(3)M3: trains the Smart Install advisory does not list
    "ios152-c7200": set(),
    "iosv157-ce1": set(),
    # IOS XE 16.4.1 without a configuration: both advisories, each "if configured"
    "iosxe164-d1": {SMI, ("CVE-2023-20198", "affected if configured", ())},
    # IOS XE 16.4.1 whose configuration has "ip http server": the web UI one is affected
    "iosxe1": {SMI, ("CVE-2023-20198", "affected", ())},
    # NX-OS 9.2(3) is listed by the NX-API CSRF advisory (Nexus 3000 and 9000); without a
    # configuration NX-API may be on, with one that has no "feature nxapi" it is off
    "nxos92-nxos1": {NXAPI_IF_CONFIGURED},
    **{f"d{i}_nxos": {("CVE-2021-1227", "not affected (feature off)", ())} for i in range(1, 7)},
    # 10.3(9) came after every release the advisory lists
    "nxos103-r1": set(),
    # 4.21.1.1F is before 4.23; 4.23.0.1F is in [4.23, 4.23.13m]
    "d-aristaeos": set(),
    "np02": {("CVE-2023-24509", "affected if configured", ())},
    # 17.4R1.16 is before 20.4R3-S9, but the record is limited to EX Series: a vQFX is not one
    "r1": set(),
}


@pytest.mark.parametrize("device", sorted(LAB_EXPECTED))
def test_lab_device(device: str) -> None:
    facts = lab_devices()[device]
    assert _findings(facts) == LAB_EXPECTED[device]


def test_every_lab_device_is_in_the_table() -> None:
    assert set(lab_devices()) == set(LAB_EXPECTED)


def test_the_exploited_web_ui_finding_says_why() -> None:
    (finding,) = [
        f
        for f in match_device(lab_devices()["iosxe1"], advisories())
        if f.advisory.cve == "CVE-2023-20198"
    ]
    assert finding.advisory.exploited is True
    assert finding.advisory.cvss_score == 10.0
    assert "HTTP/HTTPS server" in finding.reason and "is on" in finding.reason


def test_the_nxapi_advisory_reads_the_nxapi_feature() -> None:
    (off,) = match_device(lab_devices()["d1_nxos"], advisories())
    assert (off.advisory.feature, off.advisory.advisory_id) == (
        "http_server",
        "cisco-sa-nxos-nxapi-csrf-wRMzWL9z",
    )
    assert "is off in its configuration" in off.reason
    assert (off.advisory.cvss_score, off.advisory.severity) == (8.1, "high")
    # the same 9.2(3) with NX-API on (HTTPS, what "feature nxapi" starts by default)
    on = replace(lab_devices()["d1_nxos"], remote_access=("https", "ssh"))
    assert [f.status for f in match_device(on, advisories())] == ["affected"]
    # 9.3(2) is the last release the advisory lists for the Nexus 9000; 9.3(3) is not listed
    listed = match_device(replace(on, os_version="9.3(2)"), advisories())
    assert [(f.advisory.cve, f.status) for f in listed] == [("CVE-2021-1227", "affected")]
    assert match_device(replace(on, os_version="9.3(3)"), advisories()) == []


EX = "EX4300-48T"
# (platform, model, version, configuration: remote access or None for none collected,
#  expected {(cve, status, fixed_in)})
VERSIONS = [
    ("juniper_junos", EX, "21.4R3-S5.4", ("https",), set()),
    (
        "juniper_junos",
        EX,
        "21.4R3-S2",
        ("https",),
        {("CVE-2023-36844", "affected", ("21.4R3-S5",))},
    ),
    (
        "juniper_junos",
        EX,
        "22.4R2-S1",
        ("ssh",),
        {("CVE-2023-36844", "not affected (feature off)", ("22.4R2-S2", "22.4R3"))},
    ),
    ("juniper_junos", EX, "22.4R2-S2", ("http",), set()),
    ("juniper_junos", EX, "21.1R3-S4", None, {("CVE-2023-36844", "affected if configured", ())}),
    (
        "juniper_junos",
        EX,
        "12.1X46-D15.3",
        None,
        {("CVE-2023-36844", "affected if configured", ("20.4R3-S9",))},
    ),
    ("juniper_junos", "MX204", "21.4R3-S2", ("https",), set()),
    ("juniper_junos", EX, "21.4R3-S2-EVO", None, set()),
    (
        "arista_eos",
        "DCS-7280SR",
        "4.28.3M",
        None,
        {("CVE-2023-24509", "affected if configured", ("4.28.4m",))},
    ),
    ("arista_eos", "DCS-7280SR", "4.28.4M", None, set()),
    ("arista_eos", "DCS-7280SR", "4.30.4M", None, set()),
    (
        "cisco_ios",
        "C9300",
        "17.9.4",
        ("ssh",),
        {("CVE-2023-20198", "not affected (feature off)", ())},
    ),
    ("cisco_ios", "C9300", "17.9.4a", ("http",), set()),
    ("cisco_ios", "WS-C3850", "3.6.7bE", None, {SMI}),
    ("cisco_ios", "WS-C2960X", "15.2(4)E5a", ("ssh",), {SMI}),
    ("cisco_ios", "WS-C2960X", "15.2(7)E8", ("ssh",), set()),
    # a version the family's grammar does not read: unknown, never "not affected"
    (
        "arista_eos",
        "DCS-7280SR",
        "4.29.2F-EFT1",
        None,
        {("CVE-2023-24509", "unknown", ())},
    ),
]


@pytest.mark.parametrize(
    ("platform", "model", "version", "access", "expected"),
    VERSIONS,
    ids=[f"{p}:{m}:{v}" for p, m, v, _, _ in VERSIONS],
)
def test_version_and_configuration(
    platform: str,
    model: str,
    version: str,
    access: tuple[str, ...] | None,
    expected: set[tuple[str, str, tuple[str, ...]]],
) -> None:
    facts = DeviceFacts(
        device="d1",
        platform=platform,
        model=model,
        os_version=version,
        settings_source="configuration" if access is not None else None,
        remote_access=access or (),
    )
    assert _findings(facts) == expected


def test_a_model_not_known_keeps_the_finding_and_says_so() -> None:
    facts = DeviceFacts(device="d1", platform="juniper_junos", os_version="17.4R1.16")
    (finding,) = match_device(facts, advisories())
    assert finding.status == "affected if configured"
    assert "limited to EX Series; the device's model is not known" in finding.reason


def test_the_vendor_record_is_believed_before_nvd() -> None:
    nvd = next(a for a in advisories() if a.source == "nvd")
    csaf_like = nvd.model_copy(
        update={"key": "csaf:x:CVE-2023-24509", "source": "csaf", "affected": ()}
    )
    # the vendor record names no EOS release affected: NVD is the only one that decides
    facts = DeviceFacts(device="d1", platform="arista_eos", os_version="4.28.3M")
    assert [f.advisory.source for f in match_device(facts, [csaf_like, nvd])] == ["nvd"]
    same = nvd.model_copy(update={"key": "csaf:x:CVE-2023-24509", "source": "csaf"})
    assert [f.advisory.source for f in match_device(facts, [nvd, same])] == ["csaf"]
