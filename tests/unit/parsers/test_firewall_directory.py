"""The firewall lab through parse_directory: scopes, rule sets, and lines reported by number."""

from __future__ import annotations

from collections import Counter

from network_discovery.model import FactKind, Snapshot
from network_discovery.parsers import ParseReport, find_command


def test_every_device_claims_its_policy(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    snapshot, _ = fw_lab
    scope = snapshot.scope_map()
    assert set(scope) == {
        "as2border2", "asa-filters", "br-rtr1", "dc-srx1",
        "host2", "hq-fw1", "lnx-fw1", "vsrx-public",
    }  # fmt: skip
    assert all(FactKind.FIREWALL in kinds for kinds in scope.values())
    assert scope["hq-fw1"] == {
        FactKind.DEVICE, FactKind.FIREWALL, FactKind.INTERFACES, FactKind.IP_ADDRESSES,
    }  # fmt: skip
    # linux has no version command: its device record comes from meta.yaml
    assert scope["lnx-fw1"] == {FactKind.DEVICE, FactKind.FIREWALL}
    lnx = next(d for d in snapshot.devices if d.id == "lnx-fw1")
    assert (lnx.platform, lnx.role, lnx.vendor, lnx.site) == ("linux", "firewall", "Linux", "dc")
    assert Snapshot.model_validate_json(snapshot.model_dump_json()) == snapshot


def test_rules_per_device(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    snapshot, _ = fw_lab
    rules = Counter(r.device for r in snapshot.firewall_rules)
    assert rules == {
        "hq-fw1": 12, "asa-filters": 4, "br-rtr1": 12, "as2border2": 9,
        "dc-srx1": 5, "vsrx-public": 3, "host2": 2, "lnx-fw1": 20,  # 19 filter, 1 nat
    }  # fmt: skip
    kinds = {(s.device, s.name): s.kind for s in snapshot.firewall_rulesets}
    assert kinds[("lnx-fw1", "ip6:FORWARD")] == "chain"
    assert kinds[("dc-srx1", "security-policies")] == "zone_policy"
    assert kinds[("as2border2", "OUTSIDE_TO_INSIDE")] == "acl"


def test_unreadable_lines_are_warnings_with_line_numbers(
    fw_lab: tuple[Snapshot, ParseReport],
) -> None:
    _, report = fw_lab
    assert report.ok  # nothing left out of a scope
    found = {(i.device, i.line) for i in report.warnings if i.line is not None}
    assert found == {
        ("asa-filters", 36),
        ("br-rtr1", 16),
        ("br-rtr1", 24),
        ("br-rtr1", 32),
        ("dc-srx1", 33),
        ("hq-fw1", 86),
    }
    wildcard = next(i for i in report.warnings if i.line == 24)
    assert "wildcard 0.255.0.255 is not contiguous" in wildcard.message
    assert str(wildcard).startswith("warning: ") and "show_running-config.txt:24" in str(wildcard)


def test_file_names() -> None:
    assert find_command("linux", "iptables-save").kinds == (FactKind.FIREWALL,)
    assert find_command("linux", "ip6tables-save") is not None
    assert find_command("cisco_ios", "show_running-config").parser is not None
    assert find_command("cisco_ios", "show_run") is not None
    asa = find_command("cisco_asa", "show_running-config")
    assert asa.kinds == (FactKind.FIREWALL, FactKind.INTERFACES, FactKind.IP_ADDRESSES)
    for stem in (
        "show_configuration_security_|_display_set",
        "show_configuration_security_display_set",
    ):
        assert find_command("juniper_junos", stem).kinds == (FactKind.FIREWALL,)
    # the whole configuration (either form) is read for the policy and for what show tells
    for stem in (
        "show_configuration_|_display_set",
        "show_configuration",
        "show_configuration_display_set",
    ):
        whole = find_command("juniper_junos", stem)
        assert FactKind.FIREWALL in whole.kinds and FactKind.INTERFACES in whole.kinds
