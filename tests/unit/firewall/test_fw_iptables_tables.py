"""Every iptables table, and path analysis consulting a Linux host's chains in the kernel's
order, with NAT applied, on Batfish's public iptables-firewall network
(tests/fixtures/real/iptables/PROVENANCE.md).

The network: zone 1 (10.0.3.0/24) behind ``z1-firewall``, zone 2 (10.0.4.0/24) behind
``z2-firewall``, the OSPF routers ``r1``-``r3`` between them and the internet host 10.0.8.10
behind ``r3``. Both firewalls filter in ``*mangle`` only (``:PREROUTING DROP``); ``z2-host2``
has a ``*filter`` INPUT chain. Where a case needs NAT or a filter table on ``z1-firewall``,
:data:`WRITTEN` (written for these tests) is appended to its real capture.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.firewall import netfilter
from meshq_graph_engine.firewall._load import netfilter_of
from meshq_graph_engine.firewall.policy import Rule, RuleSet
from meshq_graph_engine.firewall.topology import Binding, DevicePolicy
from network_discovery.model import FirewallRule, FirewallRuleset, NatAction, Snapshot
from network_discovery.parsers.firewall import parse_iptables
from pydantic import ValidationError
from support.firewall_fixture import open_net

NET = Path(__file__).parents[2] / "fixtures" / "real" / "iptables" / "iptables-firewall"
REAL = {p.stem: p.read_text() for p in (NET / "iptables").glob("*.v4")}

#: Written for these tests (not part of the public capture): a port forward from
#: z1-firewall's outside address to a zone-1 web server, zone 1 masqueraded on the way out,
#: a filter table that lets both through, and a security table (not read).
WRITTEN = (
    """
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.0.2.10/32 -i eth0 -p tcp -m tcp --dport 8080 """
    """-j DNAT --to-destination 10.0.3.20:80
-A POSTROUTING -s 10.0.3.0/24 -o eth0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -d 10.0.3.20/32 -i eth0 -o eth1 -p tcp -m tcp --dport 80 -j ACCEPT
-A FORWARD -s 10.0.3.0/24 -i eth1 -o eth0 -j ACCEPT
COMMIT
*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -j ACCEPT
COMMIT
"""
)

Ask = Callable[..., Awaitable[list[dict[str, Any]]]]


def _interfaces() -> dict[str, dict[str, str]]:
    """device -> interface -> address/len, from the host files and router configurations."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted((NET / "hosts").glob("*.json")):
        host = json.loads(path.read_text())
        found[host["hostname"]] = {n: i["prefix"] for n, i in host["hostInterfaces"].items()}
    for path in sorted((NET / "configs").glob("*.cfg")):
        blocks = re.findall(r"^interface (\S+)\n\s+ip address (\S+)", path.read_text(), re.M)
        found.setdefault(path.stem, {}).update(dict(blocks))
    return found


def snapshot(captures: dict[str, str]) -> Snapshot:
    """The network, each device in ``captures`` with the policy its capture gives."""
    interfaces = _interfaces()
    gateways = {}
    for path in (NET / "hosts").glob("*.json"):
        host = json.loads(path.read_text())
        for name, iface in host["hostInterfaces"].items():
            if "gateway" in iface:
                gateways[host["hostname"]] = (name, iface["gateway"])
    data: dict[str, Any] = {
        "snapshot_id": "iptables-firewall",
        "source": "test",
        "collected_at": "2026-03-01T08:00:00Z",
        "scope": [],
        "devices": [],
        "interfaces": [],
        "ip_addresses": [],
        "routes": [],
    }
    firewall: dict[str, list[Any]] = {
        "firewall_zones": [],
        "firewall_rulesets": [],
        "firewall_rules": [],
    }
    for device, ifaces in sorted(interfaces.items()):
        facts = ["device", "interfaces", "ip_addresses"]
        linux = device in captures or device.startswith(("z", "internet"))
        data["devices"].append({"hostname": device, "platform": "linux" if linux else "cisco_ios"})
        for name, address in ifaces.items():
            data["interfaces"].append({"device": device, "name": name})
            data["ip_addresses"].append({"device": device, "interface": name, "address": address})
        if device in gateways:
            facts.append("routes")
            name, gateway = gateways[device]
            data["routes"].append(
                {"device": device, "prefix": "0.0.0.0/0", "protocol": "static",
                 "next_hops": [{"address": gateway, "interface": name}], "origin": "derived"}
            )  # fmt: skip
        if device in captures:
            facts.append("firewall")
            result = parse_iptables(captures[device], device)
            firewall["firewall_zones"] += result.zones
            firewall["firewall_rulesets"] += result.rulesets
            firewall["firewall_rules"] += result.rules
        data["scope"].append({"device": device, "facts": facts})
    return Snapshot.model_validate({**data, **firewall})


async def _asker(path: Path, snap: Snapshot) -> AsyncIterator[Ask]:
    net = await open_net(path, snap)

    async def ask(**params: Any) -> list[dict[str, Any]]:
        return await net.query("path_analysis", **params)

    yield ask
    await net.store.close()


@pytest.fixture(scope="module")
async def real(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ask]:
    """The captures as published."""
    async for ask in _asker(tmp_path_factory.mktemp("ipt-real"), snapshot(REAL)):
        yield ask


@pytest.fixture(scope="module")
async def natted(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ask]:
    """z1-firewall's capture with :data:`WRITTEN` appended."""
    captures = {**REAL, "z1-firewall": REAL["z1-firewall"] + WRITTEN}
    async for ask in _asker(tmp_path_factory.mktemp("ipt-nat"), snapshot(captures)):
        yield ask


def _one(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def _hop(row: dict[str, Any], device: str) -> dict[str, Any]:
    return next(h for h in row["hops"] if h["device"] == device)


def _chains(hop: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(d["rule_set"], d["name"], d["verdict"]) for d in hop["decisions"]]


# --- parsing ----------------------------------------------------------------------------


def test_the_mangle_table_is_read_with_its_policy() -> None:
    result = parse_iptables(REAL["z1-firewall"], "z1-firewall")
    assert result.problems == []
    (chain,) = result.rulesets
    assert (chain.name, chain.netfilter_table, chain.netfilter_hook, chain.family) == (
        "mangle PREROUTING", "mangle", "PREROUTING", 4,
    )  # fmt: skip
    assert (chain.default_action, chain.default_text) == ("drop", ":PREROUTING DROP [0:0]")
    assert [str(b) for b in chain.bindings] == ["in"]
    assert [(r.name, r.action, r.sources, r.src_zones) for r in result.rules] == [
        ("mangle PREROUTING #1", "permit", ("10.0.2.1/32",), ()),
        ("mangle PREROUTING #2", "permit", ("10.0.4.0/24",), ("eth0",)),
        ("mangle PREROUTING #3", "permit", ("10.0.3.0/24",), ("eth1",)),
    ]
    assert [str(s) for s in result.rules[0].services] == ["89"]  # -p 89: OSPF


def test_an_undeclared_builtin_chain_with_rules_has_the_accept_policy() -> None:
    # z2-firewall appends to POSTROUTING without a ":POSTROUTING" line; z2-host2 declares
    # no FORWARD and has no FORWARD rules (no rule set, as before)
    z2 = {s.name: s for s in parse_iptables(REAL["z2-firewall"], "z2").rulesets}
    assert sorted(z2) == ["mangle POSTROUTING", "mangle PREROUTING"]
    post = z2["mangle POSTROUTING"]
    assert (post.default_action, post.default_text, post.netfilter_hook) == (
        "permit", None, "POSTROUTING",
    )  # fmt: skip
    host = parse_iptables(REAL["z2-host2"], "z2-host2")
    assert [(s.name, s.netfilter_table) for s in host.rulesets] == [
        ("INPUT", "filter"), ("OUTPUT", "filter"),
    ]  # fmt: skip


def test_nat_targets_become_translations_and_security_is_reported() -> None:
    text = REAL["z1-firewall"] + WRITTEN
    result = parse_iptables(text, "z1-firewall")
    names = [s.name for s in result.rulesets]
    # the kernel's order of tables; nat INPUT/OUTPUT accept everything: not stored
    assert names == [
        "mangle PREROUTING", "nat PREROUTING", "nat POSTROUTING", "INPUT", "FORWARD", "OUTPUT",
    ]  # fmt: skip
    nat = {r.name: r for r in result.rules if r.nat is not None}
    dnat, masq = nat["nat PREROUTING #1"], nat["nat POSTROUTING #1"]
    assert (dnat.action, str(dnat.nat), dnat.destinations) == (
        "permit", "dnat to 10.0.3.20 port 80", ("10.0.2.10/32",),
    )  # fmt: skip
    assert [str(s) for s in dnat.services] == ["tcp dst 8080"]
    assert (str(masq.nat), masq.dst_zones) == ("masquerade", ("eth0",))
    security = text.splitlines().index("*security") + 1
    assert [(line, why.split(":")[0]) for line, why in result.problems] == [
        (security, "the security table is not read (only raw, mangle, nat and filter are); "
         "its chains and rules are left out"),
    ]  # fmt: skip


IPT_NAT = """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 53 -j CT --notrack
-A PREROUTING -s 192.0.2.0/24 -j DROP
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:MARKS - [0:0]
-A PREROUTING -i eth0 -j MARKS
-A MARKS -p tcp -j MARK --set-xmark 0x1/0xffffffff
-A MARKS -p tcp --dport 25 -j DROP
-A FORWARD -o eth1 -p tcp -j TCPMSS --clamp-mss-to-pmtu
-A POSTROUTING -j DSCP --set-dscp 0x0a
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:PORTFWD - [0:0]
-A PREROUTING -i eth0 -j PORTFWD
-A PORTFWD -p tcp --dport 2222 -j DNAT --to-destination 10.1.0.5-10.1.0.6:22
-A PORTFWD -p tcp --dport 3128 -j REDIRECT --to-ports 8080
-A PORTFWD -p tcp -j RETURN
-A POSTROUTING -o eth0 -p udp -j SNAT --to-source 203.0.113.1:1024-2047 --random
-A POSTROUTING -o eth0 -j DNAT --to-destination 10.9.9.9
-A OUTPUT -d 198.51.100.0/24 -j ACCEPT
-A OUTPUT -p tcp --dport 80 -j REDIRECT --to-ports 3128
COMMIT
"""


def test_every_table_is_flattened_and_no_verdict_targets_are_passed_over() -> None:
    result = parse_iptables(IPT_NAT, "gw")
    rules = {(r.ruleset, r.position): r for r in result.rules}
    by_set: dict[str, list[tuple[str, str, str | None]]] = {}
    for r in sorted(result.rules, key=lambda r: (r.ruleset, r.position)):
        by_set.setdefault(r.ruleset, []).append(
            (r.name, str(r.action), str(r.nat) if r.nat else None)
        )
    assert by_set == {
        # CT --notrack and MARK, TCPMSS, DSCP decide nothing: passed over
        "raw PREROUTING": [("raw PREROUTING #2", "drop", None)],
        "mangle PREROUTING": [("mangle PREROUTING #1 > MARKS #2", "drop", None)],
        "nat PREROUTING": [
            ("nat PREROUTING #1 > PORTFWD #1", "permit", "dnat to 10.1.0.5-10.1.0.6 port 22"),
            ("nat PREROUTING #1 > PORTFWD #2", "permit", "redirect port 8080"),
        ],
        "nat POSTROUTING": [("nat POSTROUTING #1", "permit", "snat to 203.0.113.1 port 1024-2047")],
        "nat OUTPUT": [
            ("nat OUTPUT #1", "permit", None),
            ("nat OUTPUT #2", "permit", "redirect port 3128"),
        ],
    }
    # mangle FORWARD / POSTROUTING hold only no-verdict rules: no-ops, not stored
    assert {s.name for s in result.rulesets} == set(by_set)
    assert rules[("mangle PREROUTING", 1)].src_zones == ("eth0",)  # narrowed by the jump
    # the unconditional tcp RETURN is conditional (-p tcp): reported; DNAT in POSTROUTING is
    # refused by the kernel: reported and left out
    assert [why.split(":")[0] for _, why in result.problems] == [
        "a conditional RETURN cannot be flattened exactly; the rules after it are kept as if "
        "it were absent",
        "DNAT is not valid in POSTROUTING",
    ]


def test_ip6tables_chains_say_their_family() -> None:
    text = (
        "*nat\n:POSTROUTING ACCEPT [0:0]\n"
        "-A POSTROUTING -o eth0 -j SNAT --to-source [2001:db8::1]:80\nCOMMIT\n"
    )
    result = parse_iptables(text, "h", family=6)
    (chain,) = result.rulesets
    assert (chain.name, chain.family) == ("ip6:nat POSTROUTING", 6)
    assert str(result.rules[0].nat) == "snat to 2001:db8::1 port 80"
    assert result.rules[0].destinations == ("::/0",)


# --- path analysis ----------------------------------------------------------------------


async def test_mangle_prerouting_drop_denies_naming_the_chain_and_its_default(real: Ask) -> None:
    # r1 (10.0.2.1) to a zone-1 host: z1-firewall's mangle PREROUTING accepts only OSPF from
    # r1, zone 2 on eth0 and zone 1 on eth1; everything else meets the DROP policy
    row = _one(await real(source="10.0.2.1", destination="10.0.3.20", protocol="tcp", port=22))
    assert (row["verdict"], row["reason"]) == (
        "denied",
        "denied by the default action of mangle PREROUTING on z1-firewall",
    )
    hop = row["hops"][-1]
    assert (hop["device"], hop["ingress_interface"]) == ("z1-firewall", "eth0")
    assert hop["decisions"] == [
        {
            "device": "z1-firewall",
            "rule_set": "mangle PREROUTING",
            "position": None,
            "name": "(default)",
            "action": "drop",
            "text": "default action of mangle PREROUTING: drop",
            "verdict": "denied",
        }
    ]


async def test_a_mangle_accept_lets_the_flow_on(real: Ask) -> None:
    # zone 1 out through z1-firewall (eth1: its third line), then r1 on-link
    row = _one(await real(source="10.0.3.20", destination="10.0.2.1", protocol="tcp", port=22))
    assert row["verdict"] == "allowed"
    assert [h["device"] for h in row["hops"]] == ["z1-host1", "z1-firewall", "r1"]
    assert _chains(_hop(row, "z1-firewall")) == [
        ("mangle PREROUTING", "mangle PREROUTING #3", "allowed"),
    ]
    # OSPF from r1 itself is the first line's
    ospf = _one(await real(source="10.0.2.1", destination="10.0.3.20", protocol="89"))
    assert ospf["verdict"] == "allowed"
    assert _chains(_hop(ospf, "z1-firewall"))[0][1] == "mangle PREROUTING #1"


async def test_every_chain_on_the_way_is_consulted_in_order(real: Ask) -> None:
    # the internet host's web replies (source port 80) pass z2-firewall's mangle PREROUTING
    # (line 4) and POSTROUTING, and are dropped by z2-host2's filter INPUT; z2-host1 has none
    flow = {"source": "10.0.8.10", "protocol": "tcp", "port": 5000, "source_port": 80}
    row = _one(await real(destination="10.0.4.21", **flow))
    assert (row["verdict"], row["reason"]) == ("denied", "denied by rule 'INPUT #1' on z2-host2")
    assert [h["device"] for h in row["hops"]] == [
        "internet-host", "r3", "r2", "z2-firewall", "z2-host2",
    ]  # fmt: skip
    assert _chains(_hop(row, "z2-firewall")) == [
        ("mangle PREROUTING", "mangle PREROUTING #4", "allowed"),
        ("mangle POSTROUTING", "mangle POSTROUTING #1", "allowed"),
    ]
    assert _chains(_hop(row, "z2-host2")) == [("INPUT", "INPUT #1", "denied")]
    assert _one(await real(destination="10.0.4.20", **flow))["verdict"] == "allowed"
    # without source port 80 nothing in z2-firewall's PREROUTING matches
    other = _one(await real(destination="10.0.4.20", **{**flow, "source_port": 81}))
    assert other["reason"] == "denied by the default action of mangle PREROUTING on z2-firewall"


async def test_a_mangle_accept_goes_on_to_the_filter_table(natted: Ask) -> None:
    # zone 2 to zone 1 port 80 directly: mangle accepts (zone 2 on eth0), the written filter
    # FORWARD has no line for it: its DROP policy decides, after mangle said ACCEPT
    row = _one(await natted(source="10.0.4.20", destination="10.0.3.20", protocol="tcp", port=22))
    assert row["reason"] == "denied by the default action of FORWARD on z1-firewall"
    assert _chains(_hop(row, "z1-firewall")) == [
        ("mangle PREROUTING", "mangle PREROUTING #2", "allowed"),
        ("nat PREROUTING", "(default)", "allowed"),
        ("FORWARD", "(default)", "denied"),
    ]


async def test_dnat_changes_the_destination_and_the_path_follows_it(natted: Ask) -> None:
    # zone 2 to z1-firewall's outside address, port 8080: forwarded to 10.0.3.20:80
    row = _one(await natted(source="10.0.4.20", destination="10.0.2.10", protocol="tcp", port=8080))
    assert (row["verdict"], row["reason"]) == ("allowed", "delivered to the destination's owner")
    assert [h["device"] for h in row["hops"]] == [
        "z2-host1", "z2-firewall", "r2", "r1", "z1-firewall", "z1-host1",
    ]  # fmt: skip
    fw = _hop(row, "z1-firewall")
    assert (fw["method"], fw["egress_interface"]) == ("connected", "eth1")
    assert _chains(fw) == [
        ("mangle PREROUTING", "mangle PREROUTING #2", "allowed"),
        ("nat PREROUTING", "nat PREROUTING #1", "allowed"),
        ("FORWARD", "FORWARD #1", "allowed"),  # matches the new port, 80
        ("nat POSTROUTING", "(default)", "allowed"),
    ]
    (dnat,) = fw["translations"]
    assert (dnat["rule_set"], dnat["kind"]) == ("nat PREROUTING", "dnat")
    assert dnat["before"] == {
        "source": "10.0.4.20", "destination": "10.0.2.10",
        "source_port": None, "destination_port": 8080,
    }  # fmt: skip
    assert dnat["after"] == {**dnat["before"], "destination": "10.0.3.20", "destination_port": 80}
    assert all(h["translations"] == [] for h in row["hops"] if h is not fw)
    assert row["destination_owner"]["device"] == "z1-firewall"  # the address asked about


async def test_masquerade_changes_the_source_later_hops_see(natted: Ask, real: Ask) -> None:
    # zone 1 to zone 2: z2-firewall's mangle PREROUTING accepts 10.0.3.0/24 on eth0 (line 2).
    # As published (no NAT) the flow passes; with z1-firewall masquerading zone 1 behind its
    # eth0 address 10.0.2.10, z2-firewall sees that source, which no line accepts.
    flow = {"source": "10.0.3.20", "destination": "10.0.4.21", "protocol": "tcp", "port": 22}
    plain = _one(await real(**flow))
    assert plain["verdict"] == "allowed"
    assert _chains(_hop(plain, "z2-firewall"))[0][1] == "mangle PREROUTING #2"

    row = _one(await natted(**flow))
    assert (row["verdict"], row["reason"]) == (
        "denied",
        "denied by the default action of mangle PREROUTING on z2-firewall",
    )
    fw = _hop(row, "z1-firewall")
    assert _chains(fw) == [
        ("mangle PREROUTING", "mangle PREROUTING #3", "allowed"),
        ("nat PREROUTING", "(default)", "allowed"),
        ("FORWARD", "FORWARD #2", "allowed"),
        ("nat POSTROUTING", "nat POSTROUTING #1", "allowed"),
    ]
    (masq,) = fw["translations"]
    assert (masq["kind"], masq["before"]["source"], masq["after"]["source"]) == (
        "masquerade", "10.0.3.20", "10.0.2.10",
    )  # fmt: skip
    assert masq["after"]["destination"] == "10.0.4.21"
    assert [f["device"] for f in row["firewalls"]][-1] == "z2-firewall"


async def test_a_flow_the_firewall_sends_meets_the_output_chains(natted: Ask) -> None:
    # from z1-firewall itself: filter OUTPUT (ACCEPT policy), then nat POSTROUTING, whose
    # MASQUERADE line wants zone-1 sources; no PREROUTING chain is met
    row = _one(await natted(source="10.0.2.10", destination="10.0.2.1", protocol="tcp", port=179))
    assert row["verdict"] == "allowed"
    assert _chains(_hop(row, "z1-firewall")) == [
        ("OUTPUT", "(default)", "allowed"),
        ("nat POSTROUTING", "(default)", "allowed"),
    ]
    # to itself on its filter INPUT (DROP, no lines): denied after mangle PREROUTING accepts
    row = _one(await natted(source="10.0.3.20", destination="10.0.3.1", protocol="tcp", port=22))
    assert row["reason"] == "denied by the default action of INPUT on z1-firewall"
    assert [c[0] for c in _chains(_hop(row, "z1-firewall"))] == [
        "mangle PREROUTING", "nat PREROUTING", "INPUT",
    ]  # fmt: skip


# --- the model, older graphs, and the chains' own evaluation ----------------------------


def test_the_model_keeps_older_rule_sets_valid_and_checks_the_new_fields() -> None:
    old = FirewallRuleset(device="h", name="FORWARD", kind="chain", default_action="drop")
    assert (old.netfilter_table, old.netfilter_hook, old.family) == (None, None, None)
    with pytest.raises(ValidationError, match="set together"):
        FirewallRuleset(
            device="h", name="x", kind="chain", default_action="drop", netfilter_table="raw"
        )
    with pytest.raises(ValidationError, match="no built-in chain FORWARD"):
        FirewallRuleset(
            device="h",
            name="x",
            kind="chain",
            default_action="drop",
            netfilter_table="nat",
            netfilter_hook="FORWARD",
        )
    for text in ("dnat to 10.0.0.5 port 8080", "snat to 192.0.2.1-192.0.2.9", "masquerade",
                 "redirect port 3128-3130", "dnat to 2001:db8::5 port 80"):  # fmt: skip
        assert str(NatAction.parse(text)) == text
    with pytest.raises(ValidationError, match="takes no address"):
        NatAction.parse("masquerade to 192.0.2.1")
    with pytest.raises(ValidationError, match="action permit"):
        FirewallRule(device="h", ruleset="x", position=1, name="x", action="drop", nat="masquerade")


def test_an_older_graph_s_iptables_chains_are_placed_by_their_names() -> None:
    assert netfilter_of({"kind": "chain", "name": "ip6:FORWARD"}) == ("filter", "FORWARD", 6)
    assert netfilter_of({"kind": "chain", "name": "INPUT"}) == ("filter", "INPUT", 4)
    assert netfilter_of({"kind": "acl", "name": "INPUT"}) == (None, None, None)
    row = {"kind": "chain", "name": "mangle PREROUTING", "netfilter_table": "mangle",
           "netfilter_hook": "PREROUTING", "family": 4}  # fmt: skip
    assert netfilter_of(row) == ("mangle", "PREROUTING", 4)


def _chain(name: str, table: str, hook: str, family: int, *rules: Rule) -> Binding:
    return Binding(RuleSet("h", name, "drop" if table == "filter" else "permit", rules),
                   "transit", None, table, hook, family)  # fmt: skip


def test_a_v4_packet_meets_only_v4_chains_and_redirect_makes_it_local() -> None:
    redirect = Rule("h", "nat PREROUTING", 1, "nat PREROUTING #1", "permit",
                    nat=NatAction.parse("redirect port 3128"))  # fmt: skip
    policy = DevicePolicy(
        "h",
        bindings=(
            _chain("ip6:FORWARD", "filter", "FORWARD", 6),  # drops everything: IPv6 only
            _chain("nat PREROUTING", "nat", "PREROUTING", 4, redirect),
            _chain("FORWARD", "filter", "FORWARD", 4, Rule("h", "FORWARD", 1, "ok", "permit")),
        ),
    )
    assert policy.netfilter
    start = netfilter.packet("192.0.2.7", "198.51.100.1", "tcp", 80)
    pre = netfilter.run(
        policy, netfilter.PREROUTING, start, ingress="eth1", egress=None, local_address="10.0.0.1"
    )
    assert pre.redirected and not pre.denied
    assert (pre.packet.dst, pre.packet.dport, pre.packet.src) == ("10.0.0.1", 3128, "192.0.2.7")
    fwd = netfilter.run(policy, netfilter.FORWARD, start, ingress="eth1", egress="eth0")
    assert [d.rule_set for d in fwd.decisions] == ["FORWARD"] and not fwd.denied
    v6 = netfilter.packet("2001:db8::7", "2001:db8:1::1", "tcp", 80)
    denied = netfilter.run(policy, netfilter.FORWARD, v6, ingress="eth1", egress="eth0")
    assert [d.rule_set for d in denied.decisions] == ["ip6:FORWARD"] and denied.denied


def test_counters_printed_by_iptables_save_c_are_skipped() -> None:
    text = "*mangle\n:PREROUTING DROP [5:300]\n[12:720] -A PREROUTING -i eth1 -j ACCEPT\nCOMMIT\n"
    result = parse_iptables(text, "h")
    assert result.problems == [] and [r.src_zones for r in result.rules] == [("eth1",)]
