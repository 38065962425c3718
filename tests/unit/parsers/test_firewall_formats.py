"""Each firewall format on its own: what the rules mean after parsing."""

from __future__ import annotations

import pytest
from network_discovery.model import FirewallRule, Snapshot
from network_discovery.parsers import ParseReport
from network_discovery.parsers.firewall import (
    parse_asa,
    parse_ios_acls,
    parse_iptables,
    parse_srx,
)


def _rules(snapshot: Snapshot, device: str, ruleset: str) -> list[FirewallRule]:
    found = [r for r in snapshot.firewall_rules if r.device == device and r.ruleset == ruleset]
    return sorted(found, key=lambda r: r.position)


def _svc(rule: FirewallRule) -> list[str]:
    return [str(s) for s in rule.services]


# --- iptables ---------------------------------------------------------------------------


def test_iptables_user_chains_are_flattened_in_place(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    forward = _rules(fw_lab[0], "lnx-fw1", "FORWARD")
    assert [r.name for r in forward] == [
        "FORWARD #1",
        "FORWARD #2 > LAN-TO-WAN #1",
        "FORWARD #2 > LAN-TO-WAN #2",
        "FORWARD #2 > LAN-TO-WAN #3",
        "FORWARD #2 > LAN-TO-WAN #4",
        "FORWARD #3 > WEB-DMZ #1",
        "FORWARD #3 > WEB-DMZ #2",
        "FORWARD #3 > WEB-DMZ #3",
        "FORWARD #4",
        "FORWARD #5",
    ]
    mail = forward[1]  # the jump's -i/-o narrow the inlined rule
    assert (mail.action, mail.src_zones, mail.dst_zones) == ("reject", ("eth1",), ("eth0",))
    assert _svc(mail) == ["tcp dst 25,465"] and mail.comment == "no direct mail"
    admin = forward[4]
    assert admin.sources == ("10.40.99.0/24",) and admin.destinations == ("0.0.0.0/0",)
    dmz_drop = forward[7]
    assert (dmz_drop.action, dmz_drop.destinations) == ("drop", ("10.40.50.0/24",))
    assert _svc(forward[8]) == ["tcp dst 22,443,8000-8100"]
    assert _svc(forward[0]) == ["tcp established"]  # conntrack ESTABLISHED: no new flow


def test_iptables_chain_policies_are_the_defaults(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    sets = {s.name: s for s in fw_lab[0].firewall_rulesets if s.device == "lnx-fw1"}
    assert {n: (str(s.default_action), [str(b) for b in s.bindings]) for n, s in sets.items()} == {
        "INPUT": ("drop", ["local_in"]),
        "FORWARD": ("drop", ["transit"]),
        "OUTPUT": ("permit", ["local_out"]),
        "ip6:INPUT": ("drop", ["local_in"]),
        "ip6:FORWARD": ("drop", ["transit"]),
        "ip6:OUTPUT": ("permit", ["local_out"]),
        # the nat table is read too: its MASQUERADE line (docs/firewall-ingest.md)
        "nat POSTROUTING": ("permit", ["out"]),
    }
    assert sets["FORWARD"].default_text == ":FORWARD DROP [97:5820]"
    forward = sets["FORWARD"]
    assert (forward.netfilter_table, forward.netfilter_hook) == ("filter", "FORWARD")
    assert (sets["ip6:INPUT"].family, sets["nat POSTROUTING"].netfilter_table) == (6, "nat")
    v6 = _rules(fw_lab[0], "lnx-fw1", "ip6:FORWARD")
    assert v6[0].destinations == ("::/0",) and v6[0].sources == ("2001:db8:40::/48",)
    zones = {z.name: z.interfaces for z in fw_lab[0].firewall_zones if z.device == "lnx-fw1"}
    assert zones == {"eth0": ("eth0",), "eth1": ("eth1",), "eth2": ("eth2",), "lo": ("lo",)}


def test_iptables_public_sample(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    snapshot = fw_lab[0]
    assert _svc(_rules(snapshot, "host2", "INPUT")[0]) == ["tcp dst 22"]
    out = _rules(snapshot, "host2", "OUTPUT")[0]
    assert (out.action, out.destinations) == ("drop", ("2.128.0.101/32",))
    sets = {s.name: s.default_action for s in snapshot.firewall_rulesets if s.device == "host2"}
    assert sets == {"INPUT": "drop", "FORWARD": "permit", "OUTPUT": "permit"}


IPT = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
-A FORWARD -i eth1 -j A
-A FORWARD -p udp -g B
-A FORWARD -j ACCEPT
-A A -i eth2 -j ACCEPT
-A A -s 10.0.0.0/8 -d 192.168.1.0/24 -j A
-A A -j RETURN
-A A -j DROP
-A B -p tcp -j ACCEPT
-A B -p udp --sport 53 -j ACCEPT
-A B ! -s 10.0.0.0/8 -j DROP
COMMIT
"""


def test_iptables_narrowing_goto_return_and_negation() -> None:
    result = parse_iptables(IPT, "fw")
    forward = [r for r in result.rules if r.ruleset == "FORWARD"]
    # A #1 needs eth2 but the jump needs eth1: never matches; A #2 jumps back into A (a loop,
    # not followed); the unconditional RETURN ends A; B's tcp rule cannot match udp; a udp
    # packet that falls off the end of B gets the FORWARD policy; others go on to FORWARD #3.
    assert [(r.name, r.action, _svc(r)) for r in forward] == [
        ("FORWARD #2 > B #2", "permit", ["udp src 53"]),
        ("FORWARD #2 (end of B)", "drop", ["udp"]),
        ("FORWARD #3", "permit", []),
    ]
    assert [(line, why.split(":")[0]) for line, why in result.problems] == [
        (16, "negated matches ('!') are not supported"),
        (11, "a jump back into A (a loop) is not followed"),
    ]


# --- Cisco ASA --------------------------------------------------------------------------


def test_asa_groups_nested_three_deep_resolve(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    inside = _rules(fw_lab[0], "hq-fw1", "INSIDE_IN")
    first = inside[0]
    assert first.destination_names == ("ALL-SERVERS",)
    assert first.destinations == ("10.20.30.40/32", "172.16.10.10/31", "172.16.10.25/32")
    assert first.sources == ("10.10.0.0/24", "10.50.0.0/23")  # a range object included
    assert _svc(first) == [
        "icmp type 8", "tcp dst 25", "tcp dst 587", "udp dst 53", "tcp dst 3389",
    ]  # fmt: skip
    assert first.src_zones == ("inside",) and first.name == "INSIDE_IN line 1"


def test_asa_rule_details(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    outside = {r.name: r for r in _rules(fw_lab[0], "hq-fw1", "OUTSIDE_IN")}
    web = outside["OUTSIDE_IN line 2"]  # line 1 is the remark
    assert web.comment == "Published web servers" and web.sources == ()
    assert _svc(web) == ["tcp dst 80,443,8080-8090"] and web.service_names == ("tcp", "WEB-PORTS")
    assert outside["OUTSIDE_IN line 4"].sources == ("0.0.0.0/0",)  # any4
    assert _svc(outside["OUTSIDE_IN line 5"]) == ["50", "51"]  # protocol group
    assert outside["OUTSIDE_IN line 6"].sources == ("::/0",)  # any6
    old = outside["OUTSIDE_IN line 8"]
    assert not old.enabled and old.comment == "old partner access, to be removed"
    last = outside["OUTSIDE_IN line 10"]
    assert (last.action, last.log, last.services, last.sources) == ("deny", True, (), ())
    assert "OUTSIDE_IN line 9" not in outside  # the undefined object: reported, left out


def test_asa_zones_interfaces_and_bindings(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    snapshot = fw_lab[0]
    zones = {z.name: (z.interfaces, z.security_level) for z in snapshot.firewall_zones
             if z.device == "hq-fw1"}  # fmt: skip
    assert zones["outside"] == (("GigabitEthernet1/1",), 0)
    assert zones["dmz"] == (("GigabitEthernet1/3",), 50)
    sets = {s.name: [str(b) for b in s.bindings] for s in snapshot.firewall_rulesets
            if s.device == "hq-fw1"}  # fmt: skip
    assert sets == {
        "DMZ_IN": ["in GigabitEthernet1/3"],
        "INSIDE_IN": ["in GigabitEthernet1/2"],
        "OUTSIDE_IN": ["in GigabitEthernet1/1"],
    }
    addresses = {a.address for a in snapshot.ip_addresses if a.device == "hq-fw1"}
    assert "2001:db8:10::1/64" in addresses and "203.0.113.2/29" in addresses
    filters = {s.name: [str(b) for b in s.bindings] for s in snapshot.firewall_rulesets
               if s.device == "asa-filters"}  # fmt: skip
    assert filters["FILTER_OUT"] == ["out GigabitEthernet0/1"]
    out = _rules(snapshot, "asa-filters", "FILTER_OUT")[0]
    assert out.dst_zones == ("name1",) and _svc(out) == ["tcp dst 123"]


# --- Cisco IOS / IOS-XE -----------------------------------------------------------------


def test_ios_public_sample(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    snapshot = fw_lab[0]
    inbound = _rules(snapshot, "as2border2", "OUTSIDE_TO_INSIDE")
    assert [(r.action, r.sources, r.src_zones) for r in inbound] == [
        ("deny", ("2.0.0.0/8",), ("GigabitEthernet0/0",)),
        ("permit", ("0.0.0.0/0",), ("GigabitEthernet0/0",)),
    ]
    out = _rules(snapshot, "as2border2", "INSIDE_TO_AS3")
    assert out[1].sources == ("10.23.21.2/32",) and out[1].dst_zones == ("GigabitEthernet0/0",)
    unbound = {s.name: s.bindings for s in snapshot.firewall_rulesets if s.device == "as2border2"}
    assert unbound["101"] == () and unbound["103"] == ()  # route-map lists: not applied


def test_ios_operators_established_log_and_lists(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    snapshot = fw_lab[0]
    wan = {r.name: r for r in _rules(snapshot, "br-rtr1", "WAN-IN")}
    assert _svc(wan["WAN-IN seq 10"]) == ["tcp established"]
    assert wan["WAN-IN seq 10"].comment == "allow return traffic"
    assert _svc(wan["WAN-IN seq 20"]) == ["udp src 53 dst 1024-65535"]
    assert _svc(wan["WAN-IN seq 30"]) == ["icmp type 0"]
    assert wan["WAN-IN seq 40"].log and _svc(wan["WAN-IN seq 40"]) == ["tcp dst 8000-8010"]
    assert "WAN-IN seq 50" not in wan  # non-contiguous wildcard: reported
    assert _svc(_rules(snapshot, "br-rtr1", "110")[1]) == ["tcp dst 0-22,24-65535"]  # neq
    std = _rules(snapshot, "br-rtr1", "15")
    assert [r.sources for r in std] == [("10.60.20.0/24",), ("10.60.30.7/32",), ("0.0.0.0/0",)]
    assert std[0].dst_zones == ("GigabitEthernet0/1.10",)
    v6 = _rules(snapshot, "br-rtr1", "ipv6 WAN6-IN")
    assert v6[0].destinations == ("2001:db8:60::5/128",) and v6[1].sources == ("::/0",)


def test_ios_wildcards() -> None:
    text = "access-list 120 permit ip 10.1.0.0 0.0.3.255 172.16.0.0 0.15.255.255\n"
    text += "access-list 120 deny ip 10.0.0.1 0.0.0.254 any\n"
    result = parse_ios_acls(text, "r1")
    assert [(r.sources, r.destinations) for r in result.rules] == [
        (("10.1.0.0/22",), ("172.16.0.0/12",))
    ]
    assert result.problems[0][0] == 2 and "not contiguous" in result.problems[0][1]


# --- Juniper SRX ------------------------------------------------------------------------


def test_srx_order_defaults_and_deactivation(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    snapshot = fw_lab[0]
    rules = _rules(snapshot, "dc-srx1", "security-policies")
    assert [(r.position, r.name, r.src_zones, r.dst_zones) for r in rules] == [
        (1, "allow-web", ("untrust",), ("dmz",)),
        (2, "partner-sql", ("untrust",), ("dmz",)),
        (3, "deny-rest", ("untrust",), ("dmz",)),
        (4, "admin", ("trust",), ("dmz",)),
        (6, "block-telnet", (), ()),  # global, after the zone pairs; 5 was unreadable
    ]
    partner = rules[1]
    assert not partner.enabled and partner.comment == "partner reporting"
    assert partner.sources == ("192.0.2.16/28",)  # a range address
    assert _svc(partner) == ["tcp dst 1433", "udp dst 1434"]  # application terms
    assert rules[0].log and _svc(rules[0]) == ["tcp dst 80", "tcp dst 443"]
    admin = rules[3]
    assert admin.sources == ("::/0",)  # any-ipv6
    assert admin.destinations == (
        "10.30.10.0/24", "10.30.20.11/32", "10.30.20.12/32", "2001:db8:30:ff::/64",
    )  # fmt: skip
    assert _svc(admin) == ["tcp dst 22", "tcp dst 8443-8444", "tcp dst 3389"]
    assert rules[4].action == "reject"
    policy = next(s for s in snapshot.firewall_rulesets if s.device == "dc-srx1")
    assert (policy.default_action, policy.default_text) == (
        "deny",
        "set security policies default-policy deny-all",
    )
    zones = {z.name: z.interfaces for z in snapshot.firewall_zones if z.device == "dc-srx1"}
    assert zones["dmz"] == ("ge-0/0/2", "ge-0/0/2.100")


def test_srx_public_sample(fw_lab: tuple[Snapshot, ParseReport]) -> None:
    rules = _rules(fw_lab[0], "vsrx-public", "security-policies")
    assert [r.name for r in rules] == ["ALLOW_INTERNAL", "ALLOW_OUTBOUND", "ALLOW_PING_SSH"]
    ping = rules[2]
    assert ping.destinations == ("169.47.211.152/29",)
    assert _svc(ping) == ["tcp dst 22", "icmp type 8"]
    assert rules[0].services == () and rules[0].comment.startswith("Allow all traffic")


def test_srx_unknown_application_is_reported() -> None:
    text = (
        "set security policies from-zone a to-zone b policy p match application junos-nope\n"
        "set security policies from-zone a to-zone b policy p then permit\n"
    )
    result = parse_srx(text, "srx")
    assert result.rules == []
    assert result.problems == [
        (1, "predefined application junos-nope is not in the built-in table: "
            "'set security policies from-zone a to-zone b policy p match application junos-nope'")
    ]  # fmt: skip


def test_asa_entry_trailers() -> None:
    text = (
        "access-list X extended permit tcp any any eq 80 log informational interval 300\n"
        "access-list X extended permit tcp any any eq 81 time-range WORK-HOURS\n"
        "access-list X extended permit tcp any any eq 82 log disable inactive\n"
        "access-list X extended permit tcp any any eq 83 bogus\n"
    )
    result = parse_asa(text, "fw")
    assert [(r.name, r.log, r.enabled) for r in result.rules] == [
        ("X line 1", True, True),
        ("X line 2", False, True),
        ("X line 3", False, False),  # log disable
    ]
    assert [(n, m.split(":")[0]) for n, m in result.problems] == [(4, "unexpected 'bogus'")]


@pytest.mark.parametrize(
    "line",
    [
        "access-list X extended permit tcp any object-group NOPE eq 22",
        "access-list X extended permit tcp any any eq nosuchport",
        "access-list X extended allow ip any any",
    ],
)
def test_asa_bad_entries_are_reported_by_line(line: str) -> None:
    result = parse_asa(f"hostname fw\n{line}\naccess-list X extended deny ip any any\n", "fw")
    assert [r.name for r in result.rules] == ["X line 2"]
    assert [n for n, _ in result.problems] == [2]
