"""path_analysis on the real example network (tests/fixtures/real/ios/example-network) read
from the routers' running configurations alone: no show output at all.

The configurations give the interfaces, their addresses, the ACLs and the routes a
configuration decides by itself (connected subnets, static routes). The routes OSPF and BGP
learn are not in a configuration, so only the flows that connected and static routes carry
are answered here; the host-to-AS3 flow that test_fw_recursive_paths follows over BGP and
OSPF has no route on config alone, and the test says so.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from network_discovery.model import FactKind, Snapshot
from network_discovery.parsers import parse_directory
from support.firewall_fixture import open_net

LAB = Path(__file__).parents[2] / "fixtures" / "real" / "ios" / "example-network"
CONFIG = "show running-config.txt"
HOST1 = "2.128.0.101"  # behind as2dept1 Gi2/0 (2.128.0.1/24)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    root = tmp_path_factory.mktemp("config-only")
    for router in (d for d in LAB.iterdir() if d.is_dir()):
        (root / router.name).mkdir()
        for name in ("meta.yaml", CONFIG):
            shutil.copy(router / name, root / router.name / name)
    parsed, report = parse_directory(root)
    assert report.errors == []
    return parsed


@pytest.fixture(scope="module")
async def ask(snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    net = await open_net(tmp_path_factory.mktemp("campus-config"), snapshot)

    async def query(name: str = "path_analysis", **params: Any) -> list[dict[str, Any]]:
        return await net.query(name, **params)

    yield query
    await net.store.close()


def test_the_configurations_alone_give_interfaces_addresses_and_routes(snapshot) -> None:
    assert len(snapshot.devices) == 13
    for entry in snapshot.scope:
        assert {FactKind.INTERFACES, FactKind.IP_ADDRESSES, FactKind.ROUTES} <= set(entry.facts)
    dept = {(a.interface, a.address) for a in snapshot.ip_addresses if a.device == "as2dept1"}
    assert {("GigabitEthernet2/0", "2.128.0.1/24"), ("GigabitEthernet3/0", "2.128.1.1/24")} <= dept
    assert {r.origin for r in snapshot.routes} == {"derived"}
    assert {r.protocol for r in snapshot.routes} == {"connected", "static"}


async def test_a_host_reaches_the_other_subnet_of_its_router(ask) -> None:
    # as2dept1 Gi2/0 applies RESTRICT_HOST_TRAFFIC_IN inbound; its first line permits
    # 2.128.0.0/16 to anywhere, and 2.128.1.0/24 is connected on Gi3/0
    for port in (80, 23):
        rows = await ask(source=HOST1, destination="2.128.1.50", protocol="tcp", port=port)
        assert {r["verdict"] for r in rows} == {"allowed"}
        (row,) = rows
        (hop,) = row["hops"]
        assert (hop["device"], hop["method"], hop["egress_interface"]) == (
            "as2dept1",
            "connected",
            "GigabitEthernet3/0",
        )
        decisions = [(f["device"], f["name"], f["action"]) for f in row["firewalls"]]
        assert ("as2dept1", "RESTRICT_HOST_TRAFFIC_IN seq 10", "permit") in decisions


async def test_telnet_into_the_core_from_a_distribution_router_is_denied(ask) -> None:
    # as2core1 applies blocktelnet inbound on Gi2/0, its link to as2dist1 (2.23.11.0/24):
    # "10 deny tcp any any eq telnet", "20 permit ip any any". 2.12.11.0/24 is connected on
    # its Gi0/0, where as2border1 holds 2.12.11.1 (no ACL on that interface).
    flow = {
        "source": "2.23.11.3",  # as2dist1 Gi0/0
        "destination": "2.12.11.1",
        "protocol": "tcp",
        "start_device": "as2core1",
        "start_interface": "GigabitEthernet2/0",
    }
    denied = await ask(**flow, port=23)
    assert {r["verdict"] for r in denied} == {"denied"}
    assert [r["reason"] for r in denied] == ["denied by rule 'blocktelnet seq 10' on as2core1"]
    allowed = await ask(**flow, port=80)
    assert {r["verdict"] for r in allowed} == {"allowed"}
    (row,) = allowed
    assert [h["device"] for h in row["hops"]] == ["as2core1", "as2border1"]
    assert ("as2core1", "blocktelnet seq 20", "permit") in [
        (f["device"], f["name"], f["action"]) for f in row["firewalls"]
    ]


async def test_a_static_route_is_followed_to_the_next_router(ask) -> None:
    # as1core1: "ip route 192.168.123.7 255.255.255.255 192.168.122.5"; 192.168.122.5 is
    # as2dept1 Gi4/0 on the shared 192.168.122.0/24, and 192.168.123.7 its Loopback123
    rows = await ask(source="192.168.123.1", destination="192.168.123.7", protocol="icmp")
    assert {r["verdict"] for r in rows} == {"allowed"}
    (row,) = rows
    first, last = row["hops"]
    assert (first["device"], first["method"], first["next_hop"]) == (
        "as1core1",
        "route",
        "192.168.122.5",
    )
    assert first["route"]["protocol"] == "static"
    assert (last["device"], last["ingress_interface"]) == ("as2dept1", "GigabitEthernet4/0")


async def test_what_ospf_and_bgp_would_carry_has_no_route_on_configuration_alone(ask) -> None:
    # host1 to AS3 is a BGP route reached through OSPF (see test_fw_recursive_paths): with
    # the configurations alone, as2dept1 has only its connected subnets
    rows = await ask(source=HOST1, destination="3.0.1.2", protocol="tcp", port=80)
    assert {r["verdict"] for r in rows} == {"no_path"}
    assert rows[0]["reason"] == "no route to 3.0.1.2 in VRF default on as2dept1"


async def test_routes_worked_out_from_a_configuration_say_so(ask) -> None:
    [row] = await ask("route_lookup", device="as1core1", destination="192.168.123.7")
    assert (row["prefix"], row["protocol"], row["origin"]) == (
        "192.168.123.7/32",
        "static",
        "derived",
    )
