"""Shadowed-rule detection on hand-built policies: one broader rule, a union of earlier
rules, partial overlap (not shadowed), zones, services, disabled rules and IPv6; the smallest
blocking set, and lines that match nothing by themselves (``unreachable_lines``)."""

from __future__ import annotations

import itertools
import random

from meshq_graph_engine.firewall import Rule, RuleSet, Service, shadowed_rules, unreachable_lines
from meshq_graph_engine.firewall._intervals import address_ranges
from meshq_graph_engine.firewall.policy import Flow, make_flow, zones


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
    # r1 takes part of r3 first, but r2 covers all of it alone: the smallest set is r2
    assert got == {"r3": (["r2"], "redundant")}
    assert found(rule(1, dst=["10.1.1.0/25"]), rule(2, dst=["10.1.1.0/24"])) == {}


def test_zones_limit_coverage() -> None:
    inside, outside, dmz = zones(["inside"]), zones(["outside"]), zones(["dmz"])
    got = found(
        rule(1, src_zones=inside, dst_zones=outside),
        rule(2, src_zones=inside, dst_zones=dmz),
        rule(3, "deny", src_zones=inside),  # any destination zone: dmz and outside are not all
        rule(4, "deny", src_zones=inside, dst_zones=zones(["outside", "dmz"])),
    )
    # r1 and r2 cover r4 together, but r3 covers it alone: one line is the smaller answer
    assert got == {"r4": (["r3"], "redundant")}
    got = found(
        rule(1, src_zones=inside, dst_zones=outside),
        rule(2, src_zones=inside, dst_zones=dmz),
        rule(3, "deny", src_zones=inside, dst_zones=zones(["outside", "dmz"])),
    )
    assert got == {"r3": (["r1", "r2"], "conflict")}


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


def reached(*rules: Rule) -> dict[str, tuple[list[str], str, bool]]:
    out = unreachable_lines(RuleSet("fw1", "acl", "deny", list(rules)))
    return {u.rule.name: ([b.name for b in u.blocking], u.reason, u.different_action) for u in out}


def test_two_lines_cover_together_and_a_third_overlapping_line_is_left_out() -> None:
    # r1 overlaps r4 (and is taken first in order) but r2 and r3 cover all of r4 without it
    got = reached(
        rule(1, dst=["10.1.1.0/26"]),
        rule(2, dst=["10.1.1.0/25"]),
        rule(3, dst=["10.1.1.128/25"]),
        rule(4, "deny", dst=["10.1.1.0/24"]),
    )
    assert got == {"r4": (["r2", "r3"], "blocking_lines", True)}


def test_one_broad_line_is_preferred_to_two_narrow_ones() -> None:
    # r1 and r2 cover r4 together, earlier than r3; r3 covers it alone: r3 is the answer
    got = reached(
        rule(1, dst=["10.1.1.0/25"]),
        rule(2, dst=["10.1.1.128/25"]),
        rule(3, "deny", dst=["10.1.0.0/16"]),
        rule(4, dst=["10.1.1.0/24"], services=[Service.of("udp", None, 53)]),
    )
    assert got == {"r4": (["r3"], "blocking_lines", True)}
    got_shadowed = found(
        rule(1, dst=["10.1.1.0/25"]),
        rule(2, dst=["10.1.1.128/25"]),
        rule(3, "deny", dst=["10.1.0.0/16"]),
        rule(4, dst=["10.1.1.0/24"]),
    )
    assert got_shadowed == {"r4": (["r3"], "conflict")}


def test_a_greedy_pick_the_others_cover_for_is_dropped() -> None:
    # greedy takes r1 first (the most addresses: .2-.7), then r2 and r3 for the ends; r2 and
    # r3 alone cover .0-.9, so r1 is dropped: the answer is irredundant
    got = reached(
        rule(1, dst=["10.0.0.2-10.0.0.7"]),
        rule(2, dst=["10.0.0.0-10.0.0.4"]),
        rule(3, dst=["10.0.0.5-10.0.0.9"]),
        rule(4, dst=["10.0.0.0-10.0.0.9"]),
    )
    assert got == {"r4": (["r2", "r3"], "blocking_lines", False)}


def test_a_line_that_matches_nothing_by_itself() -> None:
    nowhere = Rule("fw1", "acl", 1, "r1", "permit", dst=())  # an address group of nothing
    no_service = Rule("fw1", "acl", 2, "r2", "permit", services=())
    no_zone = Rule("fw1", "acl", 3, "r3", "permit", src_zones=frozenset())
    got = reached(
        nowhere,
        no_service,
        no_zone,
        rule(4, src=["10.0.0.0/8"], dst=["2001:db8::/32"]),  # IPv4 to IPv6: no such packet
        rule(5, "deny", services=[Service.of("icmp", None, 80)]),  # ICMP has no ports
        rule(6, services=[Service.of("ip", None, 80)]),  # ports bind TCP, UDP, SCTP only
    )
    assert got == {
        "r1": ([], "empty", False),
        "r2": ([], "empty", False),
        "r3": ([], "empty", False),
        "r4": ([], "independently_unmatchable", False),
        "r5": ([], "independently_unmatchable", False),
    }
    assert shadowed_rules(RuleSet("fw1", "acl", "deny", [nowhere, rule(2)])) == []


def test_a_line_matching_nothing_blocks_nothing() -> None:
    got = reached(rule(1, "deny", services=[Service.of("icmp", None, 80)]), rule(2, "permit"))
    assert got == {"r1": ([], "independently_unmatchable", False)}


def test_each_address_family_is_covered_on_its_own() -> None:
    # any-to-any is IPv4-to-IPv4 plus IPv6-to-IPv6: two family-wide lines cover it
    got = reached(
        rule(1, src=["0.0.0.0/0"], dst=["0.0.0.0/0"]),
        rule(2, src=["::/0"], dst=["::/0"]),
        rule(3, "deny"),
    )
    assert got == {"r3": (["r1", "r2"], "blocking_lines", True)}


def _flows() -> list[Flow]:
    """One flow of every class the random rule sets below can tell apart: each address of
    10.0.0.0/29 and one outside it, IPv6 (only "any" rules name it), ports 20-25 and one
    outside them, TCP, UDP, ICMP and one protocol without ports (GRE)."""
    v4 = [f"10.0.0.{n}" for n in range(8)] + ["192.0.2.1"]
    out = []
    for src, dst in [*itertools.product(v4, v4), ("2001:db8::1", "2001:db8::2")]:
        for proto in ("tcp", "udp"):
            out.extend(make_flow(src, dst, proto, port) for port in (20, 21, 22, 23, 24, 25, 80))
        out.extend(make_flow(src, dst, proto) for proto in ("icmp", "gre"))
    return out


def _random_rule(rng: random.Random, position: int, *, two_dims: bool) -> Rule:
    """A random line; ``two_dims``: TCP from anywhere, only its destinations and ports
    vary (so that unions of several lines often cover a later one)."""

    def addresses() -> list[str] | None:
        pick = rng.random()
        if pick < 0.15:
            return None  # any, both families
        if pick < 0.2:
            return [rng.choice(["0.0.0.0/0", "::/0"])]
        lo = rng.randrange(8)
        hi = rng.randrange(lo, 8)
        return [f"10.0.0.{lo}-10.0.0.{hi}"]

    def service() -> Service:
        proto = rng.choice(["tcp", "tcp", "tcp", "udp", "icmp", "ip"])
        if proto in ("tcp", "udp") and rng.random() < 0.7:
            lo = rng.randrange(20, 26)
            return Service.of(proto, None, f"{lo}-{rng.randrange(lo, 26)}")
        if proto == "icmp" and rng.random() < 0.1:
            return Service.of("icmp", None, 22)  # matches nothing
        return Service.of(proto)

    if two_dims:
        lo = rng.randrange(20, 26)
        ports = f"{lo}-{rng.randrange(lo, 26)}" if rng.random() < 0.7 else None
        tcp = [Service.of("tcp", None, ports)]
        return rule(position, rng.choice(["permit", "deny"]), dst=addresses(), services=tcp)
    services = [service() for _ in range(rng.choice([1, 1, 1, 2]))]
    action = rng.choice(["permit", "deny"])
    src = None if rng.random() < 0.5 else addresses()  # often any: more lines overlap
    return rule(position, action, src=src, dst=addresses(), services=services)


def test_the_answer_is_exact_on_random_rule_sets() -> None:
    """Exhaustively over every class of flow: a line is reported exactly when no flow's
    first match is it; its blocking lines cover every flow it matches, none can be left out,
    and one line is reported whenever one covers it alone."""
    rng = random.Random(7)
    flows = _flows()
    blocked = unmatchable = multi = 0
    for k in range(160):
        size = rng.randrange(3, 14)
        rules = [_random_rule(rng, n, two_dims=k % 2 == 1) for n in range(1, size)]
        rule_set = RuleSet("fw1", "acl", "deny", rules)
        first = {rule_set.evaluate(f).rule for f in flows} - {None}
        matching = {r.name: [f for f in flows if r.matches(f)] for r in rules}
        got = {u.rule.name: u for u in unreachable_lines(rule_set)}
        assert set(got) == {r.name for r in rules if r not in first}
        for name, u in got.items():
            mine = matching[name]
            if u.reason != "blocking_lines":
                unmatchable += 1
                assert not mine and not u.blocking
                continue
            blocked += 1
            assert mine and all(b.position < u.rule.position for b in u.blocking)

            def cover(lines: tuple[Rule, ...], mine: list[Flow] = mine) -> bool:
                return all(any(b.matches(f) for b in lines) for f in mine)

            assert cover(u.blocking)
            multi += len(u.blocking) > 1
            for b in u.blocking:
                assert not cover(tuple(x for x in u.blocking if x is not b))
            alone = [r for r in rules[: u.rule.position - 1] if cover((r,))]
            assert len(u.blocking) == 1 if alone else len(u.blocking) >= 2
    assert blocked > 200 and unmatchable > 10 and multi > 8
