"""Rule matching on policies parsed from real configurations (the firewall lab's Cisco ASA),
ingested through the graph engine and loaded back: object groups nested three deep, service
groups inside service groups, address ranges, inactive rules, any4/any6, ESP/AH, ICMP echo
and the implicit deny."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.firewall import DevicePolicy, make_flow
from meshq_graph_engine.firewall._load import load_policies
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.parsers.directory import parse_directory

LAB = Path(__file__).resolve().parents[2] / "fixtures" / "firewall" / "lab"
INSIDE, OUTSIDE, DMZ = "GigabitEthernet1/2", "GigabitEthernet1/1", "GigabitEthernet1/3"


@pytest.fixture(scope="module")
async def asa(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevicePolicy]:
    snapshot, _ = parse_directory(
        LAB, collected_at=datetime(2026, 3, 1, tzinfo=UTC), snapshot_id="fw-lab"
    )
    store = EmbeddedStore(tmp_path_factory.mktemp("lab") / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(snapshot)
    policies = await load_policies(store, "hq-fw1")
    yield policies["hq-fw1"]
    await store.close()


def decide(policy: DevicePolicy, ingress: str, *flow: object) -> tuple[str, str]:
    decisions = policy.evaluate(make_flow(*flow), ingress, DMZ)  # type: ignore[arg-type]
    last = decisions[-1]
    return last.rule_set, last.rule.name if last.rule else "(default)"


async def test_zones_are_the_nameifs(asa: DevicePolicy) -> None:
    assert (asa.zone_of(INSIDE), asa.zone_of(OUTSIDE), asa.zone_of(DMZ)) == (
        "inside",
        "outside",
        "dmz",
    )


@pytest.mark.parametrize(
    ("flow", "rule"),
    [
        # ALL-SERVERS > DMZ-SERVERS > WEB-SERVERS > object WEB-02; BRANCH-RANGE in MGMT-HOSTS;
        # RDP is an object inside the MGMT-SVC service group
        (("10.50.1.7", "172.16.10.11", "tcp", 3389), "INSIDE_IN line 1"),
        # MAIL-SVC is a service group nested in MGMT-SVC; LOG-SERVER is a 'name' in ALL-SERVERS
        (("10.10.0.9", "10.20.30.40", "tcp", 587), "INSIDE_IN line 1"),
        (("10.10.0.9", "10.20.30.40", "icmp", None), "INSIDE_IN line 1"),
        # outside MGMT-HOSTS: the tcp 1024-65535 rule, then ip 10.0.0.0/8 any
        (("10.99.0.9", "10.20.30.40", "tcp", 3389), "INSIDE_IN line 2"),
        (("10.99.0.9", "10.20.30.40", "tcp", 80), "INSIDE_IN line 3"),
        (("192.0.2.1", "8.8.8.8", "udp", 53), "(default)"),
    ],
)
async def test_inside_in(asa: DevicePolicy, flow: tuple[object, ...], rule: str) -> None:
    assert decide(asa, INSIDE, *flow) == ("INSIDE_IN", rule)


@pytest.mark.parametrize(
    ("flow", "rule"),
    [
        (("203.0.113.99", "172.16.10.11", "tcp", 8085), "OUTSIDE_IN line 2"),  # port range
        (("203.0.113.99", "172.16.10.11", "tcp", 8091), "OUTSIDE_IN line 10"),
        (("203.0.113.99", "172.16.10.25", "udp", 53), "OUTSIDE_IN line 3"),
        (("198.51.100.1", "172.16.10.25", "icmp", None), "OUTSIDE_IN line 4"),  # any4 echo
        (("198.51.100.7", "203.0.113.2", "esp", None), "OUTSIDE_IN line 5"),
        (("198.51.100.7", "203.0.113.2", "gre", None), "OUTSIDE_IN line 10"),
        (("2001:db8:99::1", "2001:db8:10::5", "tcp", 443), "OUTSIDE_IN line 6"),  # any6
        (("2001:db8:99::1", "2001:db8:10::5", "icmpv6", None), "OUTSIDE_IN line 10"),
        # the inactive partner rule (line 8) is skipped
        (("198.51.100.20", "10.20.30.40", "tcp", 22), "OUTSIDE_IN line 10"),
    ],
)
async def test_outside_in(asa: DevicePolicy, flow: tuple[object, ...], rule: str) -> None:
    assert decide(asa, OUTSIDE, *flow) == ("OUTSIDE_IN", rule)


async def test_management_interface_has_no_filter(asa: DevicePolicy) -> None:
    assert (
        asa.evaluate(make_flow("192.168.255.9", "10.0.0.1", "tcp", 22), "Management1/1", None) == []
    )
