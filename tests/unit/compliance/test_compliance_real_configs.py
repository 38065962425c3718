"""Every built-in config rule on public configurations: one that passes it, one that fails it
(provenance: tests/fixtures/compliance/README.md and the PROVENANCE.md files it names)."""

from __future__ import annotations

from pathlib import Path

import pytest
from meshq_graph_engine.compliance.evaluate import DeviceInput, evaluate_device
from meshq_graph_engine.compliance.packs import load_packs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REAL = FIXTURES / "real"
OWN = FIXTURES / "compliance"

D_IOS = REAL / "routing/mix_vendor_bgp_vrf/D-IOS/show_running-config.txt"
D_IOSXE = REAL / "routing/mix_vendor_bgp_vrf/D-IOSXE/show_running-config.txt"
NX_D4 = REAL / "routing/nxos_ebgp_loop_prevention/d4_nxos/show_running-config.txt"
NX_D2 = REAL / "routing/nxos_ebgp_loop_prevention/d2_nxos/show_running-config.txt"
EOS_R1 = REAL / "routing/eos_ceos_ebgp/r1/show_running-config.txt"
JUNOS_D6 = REAL / "routing/junos_ebgp_loop_prevention/d6/show_configuration_|_display_set.txt"
NAPALM_NXOS = OWN / "napalm/nxos_show_running_config.txt"
V24 = OWN / "batfish/arista_management_v24"

#: rule -> (platform, passing file, failing file or None, the line that decides the failure)
CASES: dict[str, tuple[str, Path, Path | None, str | None]] = {
    "ios-ssh-v2-only": ("cisco_ios", D_IOS, D_IOSXE, None),
    "ios-vty-no-telnet": (
        "cisco_ios",
        OWN / "batfish/cisco_ios-line",
        OWN / "napalm/ios_show_running-config.txt",
        "line vty 0 4",
    ),
    "ios-no-http-server": ("cisco_ios", D_IOS, D_IOSXE, "ip http server"),
    "ios-ntp-server": (
        "cisco_ios",
        REAL / "ios/example-network/as3border1/show running-config.txt",
        D_IOS,
        None,
    ),
    "ios-logging-host": (
        "cisco_ios",
        REAL / "ios/example-network/as3core1/show running-config.txt",
        D_IOS,
        None,
    ),
    "ios-aaa-login": (
        "cisco_ios",
        REAL / "suzieq/mixed/leaf1-ios/show running-config.txt",
        D_IOS,
        None,
    ),
    "ios-no-snmp-community": (
        "cisco_ios",
        D_IOS,
        OWN / "napalm/ios_show_run_include_snmp-server.txt",
        "snmp-server community public RO 11",
    ),
    "ios-login-banner": (
        "cisco_ios",
        REAL / "routing/ospf_summarization/a2/show_running-config.txt",
        D_IOS,
        None,
    ),
    "ios-unused-ports-shut": (
        "cisco_ios",
        D_IOS,
        REAL / "suzieq/mixed/leaf1-ios/show running-config.txt",
        None,
    ),
    "nxos-ssh-on": ("cisco_nxos", NAPALM_NXOS, None, None),
    "nxos-no-telnet": ("cisco_nxos", NX_D4, NAPALM_NXOS, "feature telnet"),
    "nxos-no-http": ("cisco_nxos", NAPALM_NXOS, None, None),
    "nxos-ntp-server": ("cisco_nxos", NAPALM_NXOS, NX_D4, None),
    "nxos-logging-server": ("cisco_nxos", OWN / "batfish/cisco_nxos_nxos_logging", NX_D4, None),
    "nxos-aaa-servers": (
        "cisco_nxos",
        OWN / "batfish/cisco_nxos_nxos_tacacs_server",
        NX_D4,
        None,
    ),
    "nxos-no-snmp-community": (
        "cisco_nxos",
        NX_D4,
        NAPALM_NXOS,
        "snmp-server community bogus123 group network-operator",
    ),
    "nxos-login-banner": ("cisco_nxos", OWN / "batfish/cisco_nxos_nxos_banner", NX_D4, None),
    "nxos-unused-ports-shut": ("cisco_nxos", NX_D2, NX_D4, None),
    "eos-ssh-on": ("arista_eos", V24, None, None),
    "eos-no-telnet": ("arista_eos", V24, None, None),
    "eos-no-http": (
        "arista_eos",
        OWN / "avd/management-api-http.cfg",
        OWN / "avd/base.cfg",
        "protocol http",
    ),
    "eos-ntp-server": ("arista_eos", OWN / "avd/ntp.cfg", EOS_R1, None),
    "eos-logging-host": ("arista_eos", OWN / "avd/logging.cfg", EOS_R1, None),
    "eos-aaa-servers": ("arista_eos", OWN / "avd/aaa.cfg", EOS_R1, None),
    "eos-no-snmp-community": (
        "arista_eos",
        EOS_R1,
        OWN / "napalm/eos_show_running_config_section_snmp-server_community.txt",
        "snmp-server community basic ro",
    ),
    "eos-login-banner": ("arista_eos", OWN / "avd/banners_without_eof.cfg", EOS_R1, None),
    "eos-unused-ports-shut": (
        "arista_eos",
        EOS_R1,
        REAL / "routing/eos_ibgp_local_preference/r2/show_running-config.txt",
        None,
    ),
    "junos-ssh-v2-only": (
        "juniper_junos",
        JUNOS_D6,
        REAL / "junos/configs/sources/junos_static_route_defaults-r1.cfg",
        None,
    ),
    "junos-no-telnet": (
        "juniper_junos",
        JUNOS_D6,
        OWN / "batfish/juniper_authentication-order",
        "system services telnet apply-groups group2",
    ),
    "junos-no-http": ("juniper_junos", JUNOS_D6, None, None),
    "junos-ntp-server": ("juniper_junos", OWN / "batfish/juniper_ntp", JUNOS_D6, None),
    "junos-syslog-host": ("juniper_junos", OWN / "batfish/juniper_juniper-syslog", JUNOS_D6, None),
    "junos-aaa-servers": ("juniper_junos", OWN / "batfish/juniper_tacplus-psk", JUNOS_D6, None),
    "junos-no-snmp-community": ("juniper_junos", JUNOS_D6, OWN / "batfish/juniper_snmp", None),
    "junos-login-message": (
        "juniper_junos",
        OWN / "batfish/juniper_juniper-login-class",
        JUNOS_D6,
        None,
    ),
}


def _result(rule: str, platform: str, path: Path) -> dict:
    packs = load_packs(custom_dir="")
    device = DeviceInput("dut", platform=platform, config=path.read_text(encoding="utf-8"))
    found = [r for r in evaluate_device(device, packs) if r.rule == rule]
    assert len(found) == 1
    return found[0].as_row()


def test_every_builtin_config_rule_has_a_case() -> None:
    rules = {r.id for p in load_packs(custom_dir="") for r in p.rules if r.source == "config"}
    assert rules == set(CASES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_passing_configuration(rule: str) -> None:
    platform, passing, _, _ = CASES[rule]
    row = _result(rule, platform, passing)
    assert row["status"] == "pass", row
    assert row["remediation"] == ""


@pytest.mark.parametrize("rule", sorted(r for r, case in CASES.items() if case[2] is not None))
def test_failing_configuration(rule: str) -> None:
    platform, _, failing, line = CASES[rule]
    assert failing is not None
    row = _result(rule, platform, failing)
    assert row["status"] == "fail", row
    assert row["remediation"]
    assert row["evidence"]
    if line is not None:  # the evidence names the line, with its number in the file
        lines = failing.read_text(encoding="utf-8").splitlines()
        hits = [e for e in row["evidence"] if e["text"] == line]
        assert hits, row["evidence"]
        # (a Junos statement is read in set form, without the leading "set")
        assert lines[hits[0]["line"] - 1].strip().removeprefix("set ") == line


def test_other_platforms_are_not_applicable() -> None:
    row = _result("ios-ssh-v2-only", "arista_eos", D_IOS)
    assert row["status"] == "not_applicable"
