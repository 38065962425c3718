"""Rule matching: CIDR containment (IPv4 and IPv6), port ranges, protocols, any/any, zones,
disabled rules, first match in rule order and the default action."""

from __future__ import annotations

import pytest
from meshq_graph_engine.firewall import Rule, RuleSet, Service, make_flow
from meshq_graph_engine.firewall._intervals import (
    address_ranges,
    contains,
    covers,
    encode_address,
    intersect,
    merge,
    subtract,
)
from meshq_graph_engine.firewall.policy import port_ranges, protocol_ranges, zones


def rule(position: int, action: str = "permit", **kw: object) -> Rule:
    src = address_ranges(kw.pop("src", None))  # type: ignore[arg-type]
    dst = address_ranges(kw.pop("dst", None))  # type: ignore[arg-type]
    services = kw.pop("services", None) or (Service(),)
    return Rule(
        "fw1",
        "acl",
        position,
        f"r{position}",
        action,
        src=src,
        dst=dst,
        services=tuple(services),
        **kw,
    )  # type: ignore[arg-type]


def judge(
    rs: RuleSet, src: str, dst: str, proto: str = "tcp", port: int | None = 443, **kw: object
) -> tuple[str, str | None]:
    d = rs.evaluate(make_flow(src, dst, proto, port, **kw))  # type: ignore[arg-type]
    return d.action, d.rule.name if d.rule else None


def test_interval_arithmetic() -> None:
    a = merge([(1, 5), (10, 20), (6, 7)])
    assert a == ((1, 7), (10, 20))
    assert subtract(a, ((3, 12),)) == ((1, 2), (13, 20))
    assert subtract(((0, 10),), ((0, 10),)) == ()
    assert intersect(a, ((5, 11),)) == ((5, 7), (10, 11))
    assert covers(a, ((2, 6),)) and not covers(a, ((2, 9),))
    assert contains(a, 15) and not contains(a, 8)


def test_cidr_containment_ipv4_and_ipv6() -> None:
    net = address_ranges(["10.1.0.0/16"])
    assert contains(net, encode_address("10.1.255.255"))
    assert not contains(net, encode_address("10.2.0.0"))
    v6 = address_ranges(["2001:db8:10::/48"])
    assert contains(v6, encode_address("2001:db8:10:ffff::1"))
    assert not contains(v6, encode_address("2001:db8:11::1"))
    # the two families never meet, even where the integers would
    assert not contains(address_ranges(["0.0.0.0/0"]), encode_address("::1"))
    assert not contains(address_ranges(["::/0"]), encode_address("10.0.0.1"))
    assert address_ranges(["10.0.0.5-10.0.0.9"]) == merge(
        [(encode_address("10.0.0.5"), encode_address("10.0.0.9"))]
    )
    with pytest.raises(ValueError):
        address_ranges(["10.0.0.9-10.0.0.5"])


def test_ports_and_protocols_parse() -> None:
    assert port_ranges("80") == ((80, 80),)
    assert port_ranges("1000-2000") == ((1000, 2000),)
    assert port_ranges([[80, 80], "443", {"start": 8000, "end": 8080}]) == (
        (80, 80),
        (443, 443),
        (8000, 8080),
    )
    assert protocol_ranges("tcp-udp") == ((6, 6), (17, 17))
    assert protocol_ranges("ip") == ((0, 255),)
    assert protocol_ranges("50") == ((50, 50),)
    with pytest.raises(ValueError, match="0-65535"):
        port_ranges("70000")
    with pytest.raises(ValueError, match="invalid protocol"):
        protocol_ranges("tcpp")


def test_first_match_in_rule_order_then_default() -> None:
    rs = RuleSet(
        "fw1",
        "acl",
        "deny",
        [
            rule(20, "deny", dst=["10.0.0.0/8"]),
            rule(10, "permit", dst=["10.1.1.0/24"], services=[Service.of("tcp", None, 443)]),
        ],
    )
    assert judge(rs, "192.0.2.1", "10.1.1.5") == ("permit", "r10")  # by position, not list order
    assert judge(rs, "192.0.2.1", "10.1.2.5") == ("deny", "r20")
    assert judge(rs, "192.0.2.1", "172.16.0.1") == ("deny", None)  # the default
    assert (
        RuleSet("fw1", "acl", "permit").evaluate(make_flow("1.1.1.1", "2.2.2.2", "udp", 53)).allowed
    )


def test_port_ranges_and_boundaries() -> None:
    rs = RuleSet("fw1", "acl", "deny", [rule(1, services=[Service.of("tcp", None, "8000-8080")])])
    assert judge(rs, "1.1.1.1", "2.2.2.2", port=8000)[0] == "permit"
    assert judge(rs, "1.1.1.1", "2.2.2.2", port=8080)[0] == "permit"
    assert judge(rs, "1.1.1.1", "2.2.2.2", port=7999)[0] == "deny"
    assert judge(rs, "1.1.1.1", "2.2.2.2", port=8081)[0] == "deny"


def test_source_ports_need_a_known_source_port() -> None:
    rs = RuleSet("fw1", "acl", "deny", [rule(1, services=[Service.of("udp", 53, None)])])
    assert judge(rs, "1.1.1.1", "2.2.2.2", "udp", 5353, source_port=53)[0] == "permit"
    assert judge(rs, "1.1.1.1", "2.2.2.2", "udp", 5353)[0] == "deny"


def test_protocol_mismatch_and_any() -> None:
    rs = RuleSet("fw1", "acl", "deny", [rule(1, services=[Service.of("udp", None, 53)])])
    assert judge(rs, "1.1.1.1", "2.2.2.2", "tcp", 53)[0] == "deny"
    assert judge(rs, "1.1.1.1", "2.2.2.2", "udp", 53)[0] == "permit"
    anyany = RuleSet("fw1", "acl", "deny", [rule(1)])
    for proto, port in (("tcp", 1), ("udp", 65535), ("icmp", None), ("gre", None), ("icmp6", None)):
        assert judge(anyany, "2001:db8::1", "2001:db8::2", proto, port)[0] == "permit"
    # ports do not bind protocols without ports: an ICMP flow ignores a TCP port rule's ports
    icmp = RuleSet("fw1", "acl", "deny", [rule(1, services=[Service.of("icmp")])])
    assert judge(icmp, "1.1.1.1", "2.2.2.2", "icmp", None)[0] == "permit"


def test_disabled_rules_are_skipped() -> None:
    rs = RuleSet(
        "fw1",
        "acl",
        "permit",
        [rule(1, "deny", enabled=False), rule(2, "deny", dst=["10.9.9.9/32"])],
    )
    assert judge(rs, "1.1.1.1", "2.2.2.2") == ("permit", None)
    assert judge(rs, "1.1.1.1", "10.9.9.9") == ("deny", "r2")


def test_zone_semantics() -> None:
    rs = RuleSet(
        "fw1",
        "policy",
        "deny",
        [
            rule(1, src_zones=zones(["inside"]), dst_zones=zones(["outside"])),
            rule(2, "deny", src_zones=zones(["any"])),
        ],
    )
    assert judge(rs, "1.1.1.1", "2.2.2.2", src_zone="inside", dst_zone="outside") == (
        "permit",
        "r1",
    )
    assert judge(rs, "1.1.1.1", "2.2.2.2", src_zone="dmz", dst_zone="outside") == ("deny", "r2")
    # an interface in no zone matches only rules for any zone
    assert judge(rs, "1.1.1.1", "2.2.2.2", src_zone=None, dst_zone="outside") == ("deny", "r2")


def test_ipv6_rules() -> None:
    rs = RuleSet(
        "fw1",
        "acl",
        "deny",
        [
            rule(
                1,
                src=["2001:db8:1::/48"],
                dst=["2001:db8:2::10/128"],
                services=[Service.of("tcp", None, 22)],
            ),
        ],
    )
    assert judge(rs, "2001:db8:1:5::9", "2001:db8:2::10", port=22) == ("permit", "r1")
    assert judge(rs, "2001:db8:3::9", "2001:db8:2::10", port=22) == ("deny", None)
    assert judge(rs, "10.0.0.1", "10.0.0.2", port=22) == ("deny", None)


def test_icmp_types_and_established_tcp() -> None:
    echo = Service(protocol_ranges("icmp"), icmp_type=8)
    unreachable = Service(protocol_ranges("icmp"), icmp_type=3)
    established = Service(protocol_ranges("tcp"), established=True)
    rs = RuleSet("fw1", "acl", "deny", [rule(1, services=[unreachable, established])])
    assert judge(rs, "1.1.1.1", "2.2.2.2", "icmp", None)[0] == "deny"
    assert judge(rs, "1.1.1.1", "2.2.2.2", "tcp", 80)[0] == "deny"  # a new connection
    rs = RuleSet("fw1", "acl", "deny", [rule(1, services=[echo])])
    assert judge(rs, "1.1.1.1", "2.2.2.2", "icmp", None) == ("permit", "r1")


def test_the_destination_index_decides_as_a_plain_scan() -> None:
    """A large rule set (indexed) against a first-match scan written out here, on random
    rules (narrow, wide, IPv6, several ranges) and random flows, half aimed at rule targets."""
    import ipaddress
    import random

    rng = random.Random(12)

    def net() -> str:
        if rng.random() < 0.1:
            return str(ipaddress.ip_network((0x20010DB8 << 96 | rng.randrange(1 << 16) << 80, 64)))
        length = rng.choice([0, 8, 12, 16, 24, 24, 28, 32])
        return str(
            ipaddress.ip_network((0x0A000000 | rng.randrange(1 << 24), length), strict=False)
        )

    rules = [
        rule(
            n,
            rng.choice(["permit", "deny"]),
            src=[net()] if rng.random() < 0.5 else None,
            dst=[net() for _ in range(rng.choice([1, 1, 2, 3]))],
            services=[Service.of(rng.choice(["tcp", "udp"]), None, rng.choice([22, 53, 443]))],
        )
        for n in range(1, 600)
    ]
    rs = RuleSet("fw1", "acl", "deny", rules)
    assert rs._ordered()[1] is not None
    targets = [r.dst[0][0] + (r.dst[0][1] - r.dst[0][0]) // 2 for r in rules]
    for _ in range(3000):
        if rng.random() < 0.5:
            point = rng.choice(targets)
            dst = str(ipaddress.ip_address(point if point < 1 << 32 else point - (1 << 32)))
        else:
            dst = str(ipaddress.ip_address(0x0A000000 | rng.randrange(1 << 24)))
        src = str(ipaddress.ip_address(0x0A000000 | rng.randrange(1 << 24)))
        if ":" in dst:
            src = "2001:db8::1"
        flow = make_flow(src, dst, rng.choice(["tcp", "udp"]), rng.choice([22, 53, 443]))
        want = next((r for r in rs.active if r.matches(flow)), None)
        got = rs.evaluate(flow)
        assert got.rule == want, (src, dst)
        assert got.evaluated <= got.reached
