"""filter_line_reachability and shadowed_rules on the real example network
(tests/fixtures/real/ios/example-network): the 13 IOS routers' running configurations.

Every filter a router defines is analysed, bound to an interface or not. By hand, the ACLs of
the 13 configurations are:

- as2border1 INSIDE_TO_AS1 (out on Gi0/0): permit 2/8 to 1/8, permit host 10.12.11.2 to host
  10.12.11.1, deny ip any any; OUTSIDE_TO_INSIDE (in on Gi0/0): deny 2/8 to any, deny any to
  host 2.128.1.101, permit ip any any. as2border2: the same shapes (INSIDE_TO_AS3 to 3/8).
  No line is inside the lines before it: each later line is wider than every earlier one in
  some field (a source where an earlier one named a destination, or the reverse).
- as2core1 blocktelnet (in on Gi2/0, Gi3/0): deny tcp any any eq telnet, permit ip any any.
- as2dept1 RESTRICT_HOST_TRAFFIC_IN (in on Gi2/0, Gi3/0): permit ip 2.128.0.0/16 any,
  deny ip any any, permit icmp any any. The third line is unreachable: "deny ip any any"
  takes every packet first, and does the opposite.
- as2dept1 RESTRICT_HOST_TRAFFIC_OUT, applied nowhere: permit ip any 2.128.0.0/16,
  deny ip 1.128.0.0/16 2.128.0.0/16, deny ip any any. The second line is unreachable:
  "permit ip any 2.128.0.0/16" alone covers it, and does the opposite. Only looking at
  unbound lists finds it.
- the numbered lists 101, 102, 103 and 105 on the border and distribution routers and
  as2dept1, such as ``access-list 101 permit ip host 1.0.1.0 host 255.255.255.0``. Route-maps
  match them (``match ip address 101``) to pick BGP routes, where the "source" is a prefix and
  the "destination" its mask; no interface applies them. They are defined filters, so they
  belong here: the query answers for every defined filter, the same list could be applied to
  an interface at any time (test_filter judges flows against it already), and the IOS parser
  stores them as ordinary ``acl`` rule sets without bindings (no separate non-packet kind).
  They add no rows under either reading: every line of a list is a permit of one single
  (source, destination) pair different from every other line's, so no line covers another
  and none matches nothing.

So exactly two lines are unreachable, both on as2dept1, each blocked by one earlier line with
the other action; a well-known configuration-analysis tool gives the same two lines on these
routers.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.catalogue import QueryError
from network_discovery.model import Snapshot
from network_discovery.parsers import parse_directory
from support.firewall_fixture import Net, open_net

LAB = Path(__file__).parents[2] / "fixtures" / "real" / "ios" / "example-network"
CONFIG = "show running-config.txt"

EXPECTED = [
    {
        "device": "as2dept1",
        "filter": "RESTRICT_HOST_TRAFFIC_IN",
        "position": 3,
        "unreachable_line": "permit icmp any any",
        "action": "permit",
        "blocking_lines": ["deny   ip any any"],
        "blocking_positions": [2],
        "different_action": True,
        "reason": "blocking_lines",
    },
    {
        "device": "as2dept1",
        "filter": "RESTRICT_HOST_TRAFFIC_OUT",
        "position": 2,
        "unreachable_line": "deny   ip 1.128.0.0 0.0.255.255 2.128.0.0 0.0.255.255",
        "action": "deny",
        "blocking_lines": ["permit ip any 2.128.0.0 0.0.255.255"],
        "blocking_positions": [1],
        "different_action": True,
        "reason": "blocking_lines",
    },
]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    root = tmp_path_factory.mktemp("ios-configs")
    for router in (d for d in LAB.iterdir() if d.is_dir()):
        (root / router.name).mkdir()
        for name in ("meta.yaml", CONFIG):
            shutil.copy(router / name, root / router.name / name)
    parsed, report = parse_directory(root)
    assert report.errors == []
    return parsed


@pytest.fixture(scope="module")
async def net(snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Net]:
    built = await open_net(tmp_path_factory.mktemp("ios-reachability"), snapshot)
    yield built
    await built.store.close()


def _acl_lines_in_configs() -> Counter[tuple[str, str]]:
    """(router, ACL) -> its number of permit/deny lines, read from the configuration text."""
    out: Counter[tuple[str, str]] = Counter()
    for router in sorted(d for d in LAB.iterdir() if d.is_dir()):
        current = None
        for line in (router / CONFIG).read_text().splitlines():
            named = re.match(r"ip access-list (?:standard|extended) (\S+)", line)
            numbered = re.match(r"access-list (\d+) (?:permit|deny) ", line)
            if named:
                current = named.group(1)
            elif numbered:
                out[(router.name, numbered.group(1))] += 1
                current = None
            elif current and re.match(r" (?:\d+ )?(?:permit|deny) ", line):
                out[(router.name, current)] += 1
            elif not line.startswith(" "):
                current = None
    return out


def test_every_acl_of_the_configurations_is_a_rule_set(snapshot: Snapshot) -> None:
    """The analysis sees every defined list with every line: 29 lists, 6 of them bound."""
    in_configs = _acl_lines_in_configs()
    parsed = Counter((r.device, r.ruleset) for r in snapshot.firewall_rules)
    assert parsed == in_configs
    sets = {(s.device, s.name): s for s in snapshot.firewall_rulesets}
    assert set(sets) == set(in_configs) and len(sets) == 29
    assert {str(s.kind) for s in sets.values()} == {"acl"}
    assert sum(1 for s in sets.values() if s.bindings) == 6
    assert not sets[("as2dept1", "RESTRICT_HOST_TRAFFIC_OUT")].bindings


async def test_exactly_the_two_unreachable_lines(net: Net) -> None:
    assert await net.query("filter_line_reachability") == EXPECTED


async def test_device_and_filter_narrow_the_answer(net: Net) -> None:
    assert await net.query("filter_line_reachability", device="AS2DEPT1") == EXPECTED
    assert await net.query(
        "filter_line_reachability", device="as2dept1", filter="RESTRICT_HOST_TRAFFIC_OUT"
    ) == [EXPECTED[1]]
    assert await net.query("filter_line_reachability", filter="RESTRICT_HOST_TRAFFIC_IN") == [
        EXPECTED[0]
    ]
    assert await net.query("filter_line_reachability", device="as2core1") == []
    assert await net.query("filter_line_reachability", device="as2dept1", filter="105") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"device": "as2dept1; DROP"}, "device"),
        ({"filter": "a'b"}, "filter"),
        ({"filter": "x" * 129}, "filter"),
        ({"rule_set": "x"}, "rule_set"),
    ],
)
async def test_bad_parameters(net: Net, params: dict[str, Any], field: str) -> None:
    with pytest.raises(QueryError) as raised:
        await net.query("filter_line_reachability", **params)
    assert raised.value.status == 422 and field in raised.value.detail


async def test_shadowed_rules_finds_the_unbound_line_with_the_smallest_set(net: Net) -> None:
    rows = await net.query("shadowed_rules")
    got = [
        (r["device"], r["rule_set"], r["position"], r["text"], r["kind"], r["covered_by"])
        for r in rows
    ]
    assert got == [
        (
            "as2dept1",
            "RESTRICT_HOST_TRAFFIC_IN",
            3,
            "permit icmp any any",
            "conflict",
            # not line 1 (permit 2.128.0.0/16 to any), though it overlaps: line 2 alone covers
            [{"position": 2, "name": "RESTRICT_HOST_TRAFFIC_IN seq 20", "action": "deny"}],
        ),
        (
            "as2dept1",
            "RESTRICT_HOST_TRAFFIC_OUT",
            2,
            "deny   ip 1.128.0.0 0.0.255.255 2.128.0.0 0.0.255.255",
            "conflict",
            [{"position": 1, "name": "RESTRICT_HOST_TRAFFIC_OUT seq 10", "action": "permit"}],
        ),
    ]
