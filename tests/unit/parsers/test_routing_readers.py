"""What the NX-OS, EOS and Junos readers put in a ``RoutingConfig``, on configuration lines
written here for what the real labs (test_derived_routes_vendors.py) do not show on their
own: the same Junos configuration in both forms, Junos route-filter and AS-path matching,
terms that fall through, ``next policy``, ``continue``, EOS ``peer group`` and ``vrf`` blocks,
NX-OS templates of both kinds, and what is noted rather than computed."""

from __future__ import annotations

import ipaddress
from typing import Any

from network_discovery.derive.routing import BgpRoute, RoutingConfig
from network_discovery.derive.routing._config import (
    AsPathList,
    PrefixList,
    RouteMap,
    RouteMapClause,
)
from network_discovery.parsers import CommandOutput, parse_device

JUNOS_SET = """\
set system host-name r1
set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/31
set interfaces lo0 unit 0 family inet address 1.1.1.1/32
set routing-options router-id 1.1.1.1
set routing-options autonomous-system 65001 loops 2
set routing-options aggregate route 10.0.0.0/8
set protocols ospf reference-bandwidth 10g
set protocols ospf area 0.0.0.0 interface ge-0/0/0.0 metric 7
set protocols ospf area 0.0.0.0 interface lo0.0 passive
set protocols ospf area 0.0.0.0 area-range 10.9.0.0/16 override-metric 100
set protocols bgp group EXT type external
set protocols bgp group EXT peer-as 65002
set protocols bgp group EXT export OUT
set protocols bgp group EXT neighbor 10.0.0.0 import IN
set protocols bgp group INT type internal
set protocols bgp group INT local-address 1.1.1.1
set protocols bgp group INT cluster 1.1.1.1
set protocols bgp group INT neighbor 2.2.2.2
set policy-options prefix-list LOOPBACKS 1.1.1.1/32
set policy-options community TAG members 65001:1
set policy-options as-path FROM-65002 "65002 .*"
set policy-options policy-statement IN term MARK then community add TAG
set policy-options policy-statement IN term PREFER from as-path FROM-65002
set policy-options policy-statement IN term PREFER then local-preference 200
set policy-options policy-statement IN term PREFER then accept
set policy-options policy-statement OUT term LOOP from prefix-list LOOPBACKS
set policy-options policy-statement OUT term LOOP then accept
"""

JUNOS_CURLY = """\
system { host-name r1; }
interfaces {
    ge-0/0/0 { unit 0 { family inet { address 10.0.0.1/31; } } }
    lo0 { unit 0 { family inet { address 1.1.1.1/32; } } }
}
routing-options {
    router-id 1.1.1.1;
    autonomous-system 65001 loops 2;
    aggregate { route 10.0.0.0/8; }
}
protocols {
    ospf {
        reference-bandwidth 10g;
        area 0.0.0.0 {
            interface ge-0/0/0.0 { metric 7; }
            interface lo0.0 { passive; }
            area-range 10.9.0.0/16 override-metric 100;
        }
    }
    bgp {
        group EXT {
            type external;
            peer-as 65002;
            export OUT;
            neighbor 10.0.0.0 { import IN; }
        }
        group INT {
            type internal;
            local-address 1.1.1.1;
            cluster 1.1.1.1;
            neighbor 2.2.2.2;
        }
    }
}
policy-options {
    prefix-list LOOPBACKS { 1.1.1.1/32; }
    community TAG members 65001:1;
    as-path FROM-65002 "65002 .*";
    policy-statement IN {
        term MARK { then community add TAG; }
        term PREFER {
            from as-path FROM-65002;
            then { local-preference 200; accept; }
        }
    }
    policy-statement OUT {
        term LOOP { from prefix-list LOOPBACKS; then accept; }
    }
}
"""


def _routing(platform: str, text: str, name: str = "show running-config.txt") -> RoutingConfig:
    facts, report = parse_device("r1", platform, {name: CommandOutput("memory://cfg", text)})
    assert report.errors == [], report.summary()
    assert isinstance(facts.routing, RoutingConfig)
    return facts.routing


def _junos(text: str) -> RoutingConfig:
    return _routing("juniper_junos", text, "show configuration.txt")


def _route(prefix: str, **fields: Any) -> BgpRoute:
    return BgpRoute(ipaddress.IPv4Network(prefix), ipaddress.IPv4Address("10.0.0.0"), **fields)


def test_junos_both_forms_give_one_routing_config() -> None:
    curly, flat = _junos(JUNOS_CURLY), _junos(JUNOS_SET)
    assert curly == flat
    bgp = flat.bgp
    assert (
        bgp is not None and bgp.asn == 65001 and bgp.cluster_id == ipaddress.IPv4Address("1.1.1.1")
    )
    external = bgp.neighbors[ipaddress.IPv4Address("10.0.0.0")]
    internal = bgp.neighbors[ipaddress.IPv4Address("2.2.2.2")]
    assert (external.remote_as, internal.remote_as) == (65002, 65001)
    assert internal.update_source_address == ipaddress.IPv4Address("1.1.1.1")
    assert internal.route_reflector_client and not external.route_reflector_client
    assert external.allowas_in == internal.allowas_in == 1  # loops 2
    ospf = flat.ospf[0]
    assert ospf.reference_bandwidth_mbps == 10_000 and ospf.passive == {"lo0"}
    assert flat.interfaces["ge-0/0/0"].cost == 7
    assert [(r.prefix, r.cost, r.advertise) for r in ospf.ranges] == [
        (ipaddress.IPv4Network("10.9.0.0/16"), 100, True)
    ]
    assert [g.prefix for g in flat.generated] == [ipaddress.IPv4Network("10.0.0.0/8")]
    # the group's export applies to its neighbour; the default policy ends each chain
    assert external.route_map_out == "bgp-export OUT"
    assert internal.route_map_out == "bgp-export" and internal.route_map_in == "bgp-import"


def test_junos_terms_fall_through_and_the_defaults_end_the_chain() -> None:
    config = _junos(JUNOS_SET)
    assert config.bgp is not None
    neighbor = config.bgp.neighbors[ipaddress.IPv4Address("10.0.0.0")]
    taken = config.apply_route_map(neighbor.route_map_in, _route("8.8.8.0/24", as_path=(65002, 3)))
    assert taken is not None  # MARK adds the community and goes on; PREFER accepts
    assert (taken.local_pref, taken.communities) == (200, frozenset({"65001:1"}))
    other = config.apply_route_map(neighbor.route_map_in, _route("8.8.8.0/24", as_path=(3,)))
    assert other is not None and other.local_pref == 100  # the import default accepts
    # export: the loopback by the policy, other BGP routes by the default, nothing else
    send = neighbor.route_map_out
    assert config.apply_route_map(send, _route("1.1.1.1/32", protocol="connected"))
    assert config.apply_route_map(send, _route("9.9.9.0/24"))  # a BGP route
    assert config.apply_route_map(send, _route("10.0.0.0/31", protocol="connected")) is None


def test_junos_route_filters_take_the_longest_match() -> None:
    text = (
        "set policy-options policy-statement P term T from route-filter 10.0.0.0/8 orlonger\n"
        "set policy-options policy-statement P term T from route-filter 10.1.0.0/16 exact\n"
        "set policy-options policy-statement P term T from route-filter 172.16.0.0/12 upto /24\n"
        "set policy-options policy-statement P term T then accept\n"
        "set policy-options policy-statement P term U then reject\n"
        "set routing-options autonomous-system 1\n"
        "set protocols bgp group G neighbor 10.9.9.9 peer-as 2\n"
        "set protocols bgp group G neighbor 10.9.9.9 import P\n"
    )
    config = _junos(text)
    chain = "bgp-import P"
    accepted = {
        p
        for p in ("10.1.0.0/16", "10.1.2.0/24", "10.2.0.0/16", "172.16.5.0/24", "172.16.5.0/25")
        if config.apply_route_map(chain, _route(p)) is not None
    }
    # 10.1.2.0/24: its longest route filter (10.1.0.0/16 exact) does not match it
    assert accepted == {"10.1.0.0/16", "10.2.0.0/16", "172.16.5.0/24"}


def test_junos_as_path_expressions_match_whole_as_numbers() -> None:
    def permits(regex: str, path: tuple[int, ...]) -> bool:
        return AsPathList("A", [(True, regex)], junos=True).permits(path)

    assert permits(".*65100", (65102, 65100)) and permits(".*", ())
    assert permits("65102 .*", (65102, 65100)) and not permits("65102 .*", (65100, 65102))
    assert not permits(".*100", (65100,)) and not permits("65.*", (65100,))
    assert permits("65000-65010 .", (65005, 1)) and permits("(1|2)+ 3", (1, 2, 1, 3))


def test_junos_next_policy_and_next_term_win_over_accept() -> None:
    text = (
        "set policy-options policy-statement A term T1 from route-filter 10.1.0.0/16 exact\n"
        "set policy-options policy-statement A term T1 then local-preference 150\n"
        "set policy-options policy-statement A term T1 then next policy\n"
        "set policy-options policy-statement A term T1 then accept\n"
        "set policy-options policy-statement A term T2 then reject\n"
        "set policy-options policy-statement B term T1 then metric 5\n"
        "set policy-options policy-statement B term T1 then accept\n"
        "set routing-options autonomous-system 1\n"
        "set protocols bgp group G neighbor 10.9.9.9 peer-as 2\n"
        "set protocols bgp group G neighbor 10.9.9.9 import A\n"
        "set protocols bgp group G neighbor 10.9.9.9 import B\n"
    )
    config = _junos(text)
    taken = config.apply_route_map("bgp-import A B", _route("10.1.0.0/16"))
    assert taken is not None and (taken.local_pref, taken.med) == (150, 5)  # A's T2 skipped
    assert config.apply_route_map("bgp-import A B", _route("10.2.0.0/16")) is None


def test_junos_actions_not_computed_drop_the_route_and_are_noted() -> None:
    text = (
        "set policy-options policy-statement P term T then metric2 50\n"
        "set policy-options policy-statement P term T then accept\n"
        "set routing-options autonomous-system 1\n"
        "set protocols bgp group G neighbor 10.9.9.9 peer-as 2\n"
        "set protocols bgp group G neighbor 10.9.9.9 import P\n"
    )
    config = _junos(text)
    assert config.apply_route_map("bgp-import P", _route("10.1.0.0/16")) is None
    assert "policy-statement P term T: then metric2 50 is not computed" in config.notes[0]


def test_continue_goes_on_and_permits() -> None:
    config = RoutingConfig()
    config.route_maps["M"] = RouteMap(
        "M",
        [
            RouteMapClause(10, True, (), (("local-preference", ("150",)),), False, 30),
            RouteMapClause(20, True, (), (("metric", ("7",)),)),
            RouteMapClause(30, True, (("prefix-list", ("NONE",)),), (("weight", ("9",)),)),
        ],
    )
    config.prefix_lists["NONE"] = PrefixList("NONE")
    taken = config.apply_route_map("M", _route("10.0.0.0/24"))
    # on to 30 (20 skipped), which does not match: permitted with 10's change alone
    assert taken is not None and (taken.local_pref, taken.med, taken.weight) == (150, 0, 0)


EOS = """\
! device: sw1 (vEOS, EOS-4.23.0.1F)
hostname sw1
interface Ethernet1
   no switchport
   ip address 10.0.0.1/31
   ip ospf area 0.0.0.1
interface Loopback0
   ip address 1.1.1.1/32
router bgp 65001
   router-id 1.1.1.1
   no bgp default ipv4-unicast
   distance bgp 20
   maximum-paths 4 ecmp 4
   neighbor SPINES peer group
   neighbor SPINES remote-as 65000
   neighbor SPINES send-community
   neighbor 10.0.0.0 peer group SPINES
   neighbor 10.0.0.2 remote-as 65000
   aggregate-address 10.0.0.0/8 summary-only
   network 1.1.1.1/32
   !
   address-family ipv4
      neighbor 10.0.0.0 activate
   !
   vrf BLUE
      neighbor 192.0.2.1 remote-as 65009
router ospf 1
   redistribute bgp
   max-lsa 12000
"""


def test_eos_bgp_and_ospf() -> None:
    config = _routing("arista_eos", EOS)
    bgp = config.bgp
    assert bgp is not None
    grouped = bgp.neighbors[ipaddress.IPv4Address("10.0.0.0")]
    alone = bgp.neighbors[ipaddress.IPv4Address("10.0.0.2")]
    assert grouped.remote_as == 65000 and grouped.send_community and grouped.active
    assert not alone.active  # no bgp default ipv4-unicast, not activated
    assert ipaddress.IPv4Address("192.0.2.1") not in bgp.neighbors  # the VRF's
    assert "BGP vrf BLUE is not computed" in config.notes
    assert (bgp.distance_ebgp, bgp.distance_ibgp, bgp.distance_local) == (20, 200, 200)
    assert (bgp.maximum_paths_ebgp, bgp.maximum_paths_ibgp) == (4, 4)
    assert bgp.networks == [(ipaddress.IPv4Network("1.1.1.1/32"), None)]
    assert bgp.aggregates == [(ipaddress.IPv4Network("10.0.0.0/8"), True, False)]
    ospf = config.ospf[0]
    assert config.interfaces["Ethernet1"].ospf_area == ("1", 1)
    assert ospf.default_cost == ospf.loopback_cost == 10
    assert [(r.source, r.subnets, r.metric) for r in ospf.redistribute] == [("bgp", True, None)]


NXOS = """\
hostname nx1
feature ospf
feature bgp
interface Ethernet1/1
  no switchport
  ip address 10.0.0.1/31
  ip router ospf 1 area 0.0.0.0
  ip ospf passive-interface
  no shutdown
router ospf 1
  auto-cost reference-bandwidth 100 Gbps
  area 0.0.0.1 range 10.1.0.0/16 not-advertise
router bgp 65001
  template peer-session SESSION
    remote-as 65000
    update-source loopback0
  template peer-policy POLICY
    route-map IN in
    send-community both
  neighbor 10.0.0.0
    inherit peer-session SESSION
    address-family ipv4 unicast
      inherit peer-policy POLICY 10
      disable-peer-as-check
  neighbor 10.0.0.2
    remote-as 65000
  neighbor 10.10.0.0/16
    remote-as 65003
route-map IN permit 10
  match route-type internal external
"""


def test_nxos_templates_and_defaults() -> None:
    config = _routing("cisco_nxos", NXOS)
    bgp = config.bgp
    assert bgp is not None
    inherited = bgp.neighbors[ipaddress.IPv4Address("10.0.0.0")]
    assert (inherited.remote_as, inherited.update_source) == (65000, "Loopback0")
    assert inherited.route_map_in == "IN" and inherited.send_community and inherited.active
    assert not inherited.peer_as_check  # disable-peer-as-check
    plain = bgp.neighbors[ipaddress.IPv4Address("10.0.0.2")]
    assert not plain.active and plain.peer_as_check  # no address-family ipv4 unicast
    assert any("10.10.0.0/16" in n for n in config.notes)
    ospf = config.ospf[0]
    assert ospf.reference_bandwidth_mbps == 100_000 and ospf.passive == {"Ethernet1/1"}
    assert [(r.area, r.advertise, r.discard) for r in ospf.ranges] == [(1, False, False)]
    clause = config.route_maps["IN"].clauses[0]
    assert clause.matches == (("route-type", ("internal", "external")),)
    assert config.apply_route_map("IN", _route("10.2.0.0/16", source="ibgp")) is not None
    assert config.apply_route_map("IN", _route("10.2.0.0/16", source="local")) is None
