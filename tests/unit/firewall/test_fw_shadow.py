"""Shadowed-rule detection on hand-built policies: one broader rule, a union of earlier
rules, partial overlap (not shadowed), zones, services, disabled rules and IPv6."""

from __future__ import annotations

from meshq_graph_engine.firewall import Rule, RuleSet, Service, shadowed_rules
from meshq_graph_engine.firewall._intervals import address_ranges
from meshq_graph_engine.firewall.policy import zones


def rule(position: int, action: str = "permit", **kw: object) -> Rule:
    src = address_ranges(kw.pop("src", None))  # type: ignore[arg-type]
    dst = address_ranges(kw.pop("dst", None))  # type: ignore[arg-type]
    services = tuple(kw.pop("services", None) or (Service(),))  # type: ignore[call-overload]
    return Rule(
        "fw1", "acl", position, f"r{position}", action, src=src, dst=dst, services=services, **kw
    )  # type: ignore[arg-type]


def found(*rules: Rule) -> dict[str, tuple[list[str], str]]:
    out = shadowed_rules(RuleSet("fw1", "acl", "deny", list(rules)))
    return {s.rule.name: ([c.name for c in s.covering], s.kind) for s in out}


def test_a_broader_earlier_rule_shadows() -> None:
    got = found(
        rule(1, "deny", dst=["10.0.0.0/8"]),
        rule(2, "permit", dst=["10.1.1.0/24"], services=[Service.of("tcp", None, 443)]),
    )
    assert got == {"r2": (["r1"], "conflict")}


def test_a_union_of_earlier_rules_shadows() -> None:
    # neither r1 nor r2 covers r3 alone; together they do (two halves of the /24)
    got = found(
        rule(1, dst=["10.1.1.0/25"]),
        rule(2, dst=["10.1.1.128/25"]),
        rule(3, dst=["10.1.1.0/24"], services=[Service.of("tcp", None, 22)]),
    )
    assert got == {"r3": (["r1", "r2"], "redundant")}


def test_union_over_ports_and_protocols() -> None:
    got = found(
        rule(1, services=[Service.of("tcp", None, "1-1023")]),
        rule(2, services=[Service.of("tcp", None, "1024-65535")]),
        rule(3, services=[Service.of("tcp", None, "0")]),
        rule(4, "deny", services=[Service.of("tcp", None, "80-8080")]),
        rule(5, "deny", services=[Service.of("udp", None, "53")]),
    )
    assert got == {"r4": (["r1", "r2"], "conflict")}


def test_partial_overlap_is_not_shadowed() -> None:
    got = found(
        rule(1, "deny", dst=["10.1.1.0/25"]),
        rule(2, dst=["10.1.1.0/24"]),
        rule(3, dst=["10.1.1.0/24"], services=[Service.of("tcp", None, "22")]),
    )
    assert got == {"r3": (["r1", "r2"], "conflict")}
    assert found(rule(1, dst=["10.1.1.0/25"]), rule(2, dst=["10.1.1.0/24"])) == {}


def test_zones_limit_coverage() -> None:
    inside, outside, dmz = zones(["inside"]), zones(["outside"]), zones(["dmz"])
    got = found(
        rule(1, src_zones=inside, dst_zones=outside),
        rule(2, src_zones=inside, dst_zones=dmz),
        rule(3, "deny", src_zones=inside),  # any destination zone: dmz and outside are not all
        rule(4, "deny", src_zones=inside, dst_zones=zones(["outside", "dmz"])),
    )
    assert got == {"r4": (["r1", "r2"], "conflict")}


def test_any_zone_covers_named_zones_and_no_zone() -> None:
    got = found(rule(1, "deny"), rule(2, src_zones=zones(["inside"])), rule(3))
    assert got == {"r2": (["r1"], "conflict"), "r3": (["r1"], "conflict")}


def test_disabled_rules_neither_cover_nor_count() -> None:
    got = found(rule(1, "deny", enabled=False), rule(2), rule(3, enabled=False))
    assert got == {}


def test_services_of_a_rule_are_all_needed() -> None:
    web = [Service.of("tcp", None, 80), Service.of("tcp", None, 443)]
    assert found(rule(1, services=[Service.of("tcp", None, 80)]), rule(2, services=web)) == {}
    got = found(rule(1, services=[Service.of("tcp", None, "80-443")]), rule(2, services=web))
    assert got == {"r2": (["r1"], "redundant")}


def test_ipv6_and_ipv4_are_separate_spaces() -> None:
    got = found(
        rule(1, src=["0.0.0.0/0"]),
        rule(2, src=["2001:db8::/32"]),
        rule(3, src=["::/0"]),
        rule(4, src=["2001:db8:1::/48"]),
    )
    # 0.0.0.0/0 does not reach IPv6: ::/0 stays live; 2001:db8:1::/48 is inside r2
    assert got == {"r4": (["r2"], "redundant")}


def test_icmp_is_covered_by_any_protocol_rule_with_ports_elsewhere() -> None:
    # r1 allows everything but TCP; r2 covers TCP on every port: together all protocols
    got = found(
        rule(1, services=[Service.of(p) for p in range(256) if p != 6]),
        rule(2, services=[Service.of("tcp", None, None)]),
        rule(3, "deny", services=[Service.of("icmp")]),
        rule(4, "deny"),
    )
    assert got == {"r3": (["r1"], "conflict"), "r4": (["r1", "r2"], "conflict")}


def test_narrowed_services_never_cover_but_can_be_covered() -> None:
    established = Service(Service.of("tcp").protocols, established=True)
    echo = Service(Service.of("icmp").protocols, icmp_type=8)
    got = found(
        rule(1, services=[established, echo]),
        rule(2, services=[Service.of("tcp", None, 22), Service.of("icmp")]),
        rule(3, "deny", services=[echo]),
    )
    assert got == {"r3": (["r2"], "conflict")}
