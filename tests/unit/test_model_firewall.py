"""Firewall and routing model: normalisation, the one spelling of any, snapshot checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from network_discovery.contracts.schema import schema_documents
from network_discovery.model import (
    FactKind,
    FirewallObject,
    FirewallRule,
    PortRange,
    Route,
    RuleAction,
    Service,
    Snapshot,
    normalise_protocol,
)
from pydantic import ValidationError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots" / "firewall_policy.json"


def _rule(**change: Any) -> FirewallRule:
    data: dict[str, Any] = {
        "device": "FW1",
        "ruleset": "OUTSIDE_IN",
        "position": 1,
        "name": "r1",
        "action": "permit",
    }
    return FirewallRule.model_validate(data | change)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("TCP", "tcp"),
        ("6", "tcp"),
        (17, "udp"),
        ("ip", "any"),
        ("icmp6", "icmpv6"),
        ("58", "icmpv6"),
        ("esp", "50"),
        ("gre", "47"),
        ("112", "112"),
    ],
)
def test_protocols_are_stored_in_one_spelling(given: Any, stored: str) -> None:
    assert normalise_protocol(given) == stored


@pytest.mark.parametrize("bad", ["256", "-1", "tcpx", True, ""])
def test_bad_protocols_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="invalid protocol"):
        normalise_protocol(bad)


def test_port_ranges_merge_and_full_range_means_any() -> None:
    svc = Service(protocol="tcp", dst_ports=["8080-8090", 80, "81", "8085-8100"])
    assert [str(r) for r in svc.dst_ports] == ["80-81", "8080-8100"]
    assert Service(protocol="udp", dst_ports=["0-65535"]).dst_ports == ()
    assert PortRange.model_validate("443").contains(443)
    with pytest.raises(ValidationError, match="lo is above hi"):
        PortRange(lo=10, hi=5)
    with pytest.raises(ValidationError, match="expected 443 or 1024-65535"):
        PortRange.model_validate("http")


@pytest.mark.parametrize(
    "text",
    [
        "any",
        "tcp",
        "tcp dst 443",
        "udp src 53 dst 1024-65535",
        "tcp dst 80,8080-8090 established",
        "icmp type 8 code 0",
        "icmpv6 type 128",
        "50",
    ],
)
def test_service_text_round_trips(text: str) -> None:
    assert str(Service.parse(text)) == text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"protocol": "icmp", "dst_ports": [80]}, "ports need protocol tcp"),
        ({"protocol": "tcp", "icmp_type": 8}, "ICMP type needs protocol icmp"),
        ({"protocol": "icmp", "icmp_code": 1}, "ICMP code needs an ICMP type"),
        ({"protocol": "udp", "established": True}, "tcp only"),
    ],
)
def test_inconsistent_services_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Service.model_validate(data)


def test_service_text_errors_name_the_word() -> None:
    with pytest.raises(ValueError, match="unexpected 'port'"):
        Service.parse("tcp port 80")
    with pytest.raises(ValueError, match="empty"):
        Service.parse("  ")


def test_rule_addresses_collapse_and_any_has_one_spelling() -> None:
    rule = _rule(
        sources=["10.0.0.0/25", "10.0.0.128/25", "2001:db8::/33", "2001:db8:8000::/33"],
        destinations=["::/0", "0.0.0.0/0"],
    )
    assert rule.sources == ("10.0.0.0/24", "2001:db8::/32")
    assert rule.destinations == ()  # any
    assert _rule(destinations=["0.0.0.0/0"]).destinations == ("0.0.0.0/0",)  # IPv4 only
    with pytest.raises(ValidationError, match="host bits"):
        _rule(sources=["10.0.0.1/24"])


def test_rule_ids_and_defaults() -> None:
    rule = _rule(action="DROP")
    assert rule.id == "fw1|rule|OUTSIDE_IN|1"
    assert rule.ruleset_id == "fw1|ruleset|OUTSIDE_IN"
    assert rule.action is RuleAction.DROP and not rule.action.allows
    assert rule.enabled and rule.services == () and rule.src_zones == ()
    with pytest.raises(ValidationError):
        _rule(position=0)
    with pytest.raises(ValidationError):
        _rule(action="allow")


def test_objects_keep_their_kind_apart() -> None:
    with pytest.raises(ValidationError, match="cannot carry services"):
        FirewallObject(device="fw1", name="X", kind="address", services=[Service()])
    with pytest.raises(ValidationError, match="cannot carry addresses"):
        FirewallObject(device="fw1", name="X", kind="service", addresses=["10.0.0.0/8"])
    obj = FirewallObject(device="fw1", name="NET", kind="address", addresses=["0.0.0.0/0"])
    assert obj.addresses == ("0.0.0.0/0",) and obj.id == "fw1|object|address|NET"


def test_routes_default_vrf_and_next_hops() -> None:
    route = Route(
        device="R1",
        vrf="default",
        prefix="10.0.0.0/8",
        protocol="ospf",
        next_hops=[{"address": "10.1.1.1", "interface": "Gi0/1"}, {"address": "10.1.1.5"}],
    )
    assert route.vrf is None and route.vrf_name == "default"
    assert route.id == "r1|route|default|10.0.0.0/8|ospf"
    assert route.next_hops[0].interface == "GigabitEthernet0/1"
    assert route.prefix_length == 8 and route.version == 4
    with pytest.raises(ValidationError, match="needs an address, an interface or both"):
        Route(device="r1", prefix="10.0.0.0/8", protocol="static", next_hops=[{}])
    with pytest.raises(ValidationError):
        Route(device="r1", prefix="10.0.0.0/8", protocol="rip2")


def _fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_the_fixture_snapshot_validates_and_round_trips() -> None:
    snapshot = Snapshot.model_validate(_fixture())
    assert snapshot.counts()["firewall_rules"] == 4
    assert snapshot.counts()["routes"] == 4
    assert FactKind.FIREWALL in snapshot.scope_map()["dc-srx1"]
    assert Snapshot.model_validate_json(snapshot.model_dump_json()) == snapshot


def test_a_rule_must_name_a_ruleset_of_its_device() -> None:
    data = _fixture()
    data["firewall_rules"][0]["ruleset"] = "NOPE"
    with pytest.raises(ValidationError, match="rule set 'NOPE' of 'edge-fw1' is not in"):
        Snapshot.model_validate(data)


def test_firewall_and_route_facts_need_their_kind_declared() -> None:
    data = _fixture()
    data["scope"][1]["facts"] = ["device", "interfaces"]
    with pytest.raises(ValidationError) as info:
        Snapshot.model_validate(data)
    message = str(info.value)
    assert "fact kind 'firewall' is not declared in the scope for 'dc-srx1'" in message
    assert "fact kind 'routes' is not declared in the scope for 'dc-srx1'" in message


def test_duplicate_rule_positions_are_refused() -> None:
    data = _fixture()
    data["firewall_rules"][1]["position"] = 1
    with pytest.raises(ValidationError, match=r"'edge-fw1\|rule\|OUTSIDE_IN\|1' appears 2 times"):
        Snapshot.model_validate(data)


def test_the_exported_snapshot_schema_accepts_the_fixture_and_refuses_a_bad_action() -> None:
    validator = Draft202012Validator(schema_documents()["snapshot.json"])
    data = _fixture()
    validator.validate(data)
    data["firewall_rules"][0]["action"] = "allow"
    assert not validator.is_valid(data)
