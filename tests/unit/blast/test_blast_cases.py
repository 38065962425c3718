"""Blast radius on hand-built networks with known answers, through the real engine and store."""

from __future__ import annotations

from pathlib import Path

import pytest
from meshq_graph_engine.blast import TargetError, run_scenario
from support.blastnet import Net, campus, load_net


async def simulate(net: Net, tmp_path: Path, scenario: str, target: str, depth: int = 3):  # type: ignore[no-untyped-def]
    store, engine = await load_net(net, tmp_path)
    try:
        return await run_scenario(store, engine, scenario, target, depth)
    finally:
        await store.close()


def _impact(result, device: str):  # type: ignore[no-untyped-def]
    return next(i for i in result.impacts if i.device == device)


async def test_dual_homed_access_losing_one_uplink_is_degraded_not_affected(
    tmp_path: Path,
) -> None:
    result = await simulate(campus(), tmp_path, "link_failure", "acc-dual:Uplink1")
    assert result.affected_devices == []
    assert result.degraded_devices == ["acc-dual"]
    impact = _impact(result, "acc-dual")
    assert (impact.paths_before, impact.paths_after) == (2, 1)
    assert result.blast_radius_pct == 0.0 and result.affected_endpoints == 0
    assert result.failure.touched == {"acc-dual", "dist-1"}
    # one device of six lost redundancy: at least medium, never more on that alone
    assert result.severity == "medium"
    assert result.lost_paths[0]["device"] == "acc-dual"
    assert result.lost_paths[0]["lost"] and result.lost_paths[0]["lost"][0][:2] == [
        "acc-dual",
        "dist-1",
    ]


async def test_single_homed_access_losing_its_distribution_is_affected_with_endpoints(
    tmp_path: Path,
) -> None:
    result = await simulate(campus(), tmp_path, "device_failure", "dist-1")
    assert result.affected_devices == ["dist-1", "acc-single"]
    assert _impact(result, "dist-1").failed and not _impact(result, "acc-single").failed
    assert result.degraded_devices == ["acc-dual"]
    assert result.affected_endpoints == 12
    assert result.blast_radius_pct == 33.3  # 2 of 6 managed devices
    assert result.severity in ("high", "critical")
    lost = {entry["device"]: entry for entry in result.lost_paths}
    assert lost["acc-single"]["status"] == "affected"
    [path] = lost["acc-single"]["lost"]
    assert path[:2] == ["acc-single", "dist-1"] and path[-1] in ("core-1", "core-2")


async def test_core_failure_in_a_two_core_design_degrades_the_distribution(
    tmp_path: Path,
) -> None:
    result = await simulate(campus(), tmp_path, "device_failure", "core-1")
    assert result.affected_devices == ["core-1"]
    assert result.degraded_devices == ["dist-1", "dist-2"]
    assert [(i.paths_before, i.paths_after) for i in result.impacts[1:]] == [(2, 1), (2, 1)]
    assert result.blast_radius_pct == 16.7
    assert result.affected_endpoints == 0


async def test_core_failure_with_a_single_core_takes_everything_within_depth(
    tmp_path: Path,
) -> None:
    result = await simulate(campus(cores=1), tmp_path, "device_failure", "core-1")
    assert result.affected_devices == ["core-1", "dist-1", "dist-2", "acc-dual", "acc-single"]
    assert result.blast_radius_pct == 100.0 and result.affected_endpoints == 17
    assert result.severity == "critical" and result.impact_score == 100


def chain() -> Net:
    net = Net().device("core-1", "core")
    previous = "core-1"
    for name in ("d1", "a1", "a2", "a3", "a4", "a5"):
        net.device(name, "access")
        net.link(name, previous)
        previous = name
    return net


@pytest.mark.parametrize(
    ("depth", "affected"),
    [
        (1, ["d1", "a1"]),
        (3, ["d1", "a1", "a2", "a3"]),
        (6, ["d1", "a1", "a2", "a3", "a4", "a5"]),
    ],
)
async def test_a_chain_deeper_than_depth_is_cut_at_depth(
    tmp_path: Path, depth: int, affected: list[str]
) -> None:
    result = await simulate(chain(), tmp_path, "device_failure", "d1", depth)
    assert result.affected_devices == affected
    assert [i.hops for i in result.impacts] == list(range(len(affected)))


def segments() -> Net:
    net = campus()
    net.device("acc-v30", "access").device("acc-trunk", "access").device("wan-rtr", "router")
    access30 = {"mode": "access", "access_vlan": 30}
    net.link("acc-v30", "dist-2", a_cfg=access30, b_cfg=access30)
    trunk = {"mode": "trunk", "trunk_vlans": [10, 30]}
    net.link("acc-trunk", "dist-2", a_cfg=trunk, b_cfg=trunk)
    net.hosts("acc-v30", 4, vlan=30, net="10.30.0").hosts("acc-trunk", 2, vlan=30, net="10.30.0")
    net.vlan("dist-2", 30)
    rtr, dist = net.link("wan-rtr", "dist-2", a_port="Gi0/0", b_port="Ethernet40")
    net.address("wan-rtr", rtr, "10.255.0.2/30").address("dist-2", dist, "10.255.0.1/30")
    return net


async def test_vlan_failure_takes_the_links_that_carry_only_that_vlan(tmp_path: Path) -> None:
    result = await simulate(segments(), tmp_path, "segment_failure", "vlan 30")
    assert result.failure.kind == "vlan" and len(result.failure.links) == 1
    assert result.affected_devices == ["acc-v30"]  # the trunk also carries VLAN 10
    # the 4 hosts behind acc-v30 and the 2 VLAN 30 hosts on acc-trunk's ports
    assert result.affected_endpoints == 6
    assert "dist-2" in result.failure.touched and "acc-trunk" in result.failure.touched


async def test_subnet_failure_takes_the_interfaces_addressed_in_it(tmp_path: Path) -> None:
    net = segments()
    result = await simulate(net, tmp_path / "a", "segment_failure", "10.255.0.0/30")
    assert result.affected_devices == ["wan-rtr"]
    assert result.failure.interfaces == ("dist-2|Ethernet40", "wan-rtr|GigabitEthernet0/0")
    hosts = await simulate(net, tmp_path / "b", "segment_failure", "10.30.0.0/24")
    assert hosts.affected_devices == [] and hosts.affected_endpoints == 6
    # with its gateway on an SVI, the subnet's segment is VLAN 30: it goes down as a VLAN does
    net.address("dist-2", "Vlan30", "10.30.0.1/24")
    served = await simulate(net, tmp_path / "c", "segment_failure", "10.30.0.0/24")
    assert served.affected_devices == ["acc-v30"] and served.affected_endpoints == 6
    assert "dist-2|Vlan30" in served.failure.interfaces


def lag(*, bundled: bool) -> Net:
    net = Net().device("core-1", "core").device("acc-lag", "access")
    member = {"lag": "Port-channel1"} if bundled else {}
    net.link("acc-lag", "core-1", a_cfg=member, b_cfg=member)
    net.link("acc-lag", "core-1", a_cfg=member, b_cfg=member)
    if bundled:
        net.port("acc-lag", "Port-channel1", mode="trunk")
    net.hosts("acc-lag", 3)
    return net


async def test_one_lag_member_failing_is_no_loss(tmp_path: Path) -> None:
    result = await simulate(lag(bundled=True), tmp_path / "a", "link_failure", "acc-lag:Et1")
    assert result.affected_devices == [] and result.degraded_devices == []
    assert result.severity == "low"
    whole = await simulate(
        lag(bundled=True), tmp_path / "b", "link_failure", "acc-lag:Port-channel1"
    )
    assert whole.affected_devices == ["acc-lag"] and whole.affected_endpoints == 3
    assert len(whole.failure.links) == 2


async def test_one_of_two_plain_parallel_links_failing_is_degraded(tmp_path: Path) -> None:
    result = await simulate(lag(bundled=False), tmp_path, "link_failure", "acc-lag:Et1")
    assert result.affected_devices == [] and result.degraded_devices == ["acc-lag"]


async def test_without_roles_the_upstream_is_the_highest_degree_devices(tmp_path: Path) -> None:
    net = Net()
    for name in ("hub", "s1", "s2", "s3", "leaf", "other-1", "other-2"):
        net.device(name)
    for spoke in ("s1", "s2", "s3"):
        net.link(spoke, "hub")
    net.link("leaf", "s1")
    net.link("other-1", "other-2")  # a smaller component
    result = await simulate(net, tmp_path, "device_failure", "s1")
    assert (result.upstream, result.upstream_rule) == (["hub"], "degree")
    assert result.affected_devices == ["s1", "leaf"]


async def test_targets_that_name_nothing_or_several_things(tmp_path: Path) -> None:
    store, engine = await load_net(segments(), tmp_path)
    try:
        cases = [
            ("device_failure", "no-such-switch", 404, "no-such-switch"),
            ("link_failure", "acc-dual:Ethernet99", 404, "Ethernet99"),
            ("link_failure", "Uplink1", 422, "acc-dual:Uplink1"),
            ("segment_failure", "vlan 77", 404, "VLAN 77"),
            ("segment_failure", "10.99.0.0/16", 404, "10.99.0.0/16"),
            ("segment_failure", "10.255.0.1/30", 422, "host bits"),
            ("segment_failure", "vlan 5000", 422, "5000"),
            ("segment_failure", "dist-1", 422, "VLAN id"),
            ("link_failure", "acc-dual:Uplink3", 404, "Uplink3"),
            ("link_failure", "acc-single:Ethernet2", 422, "nothing is cabled"),
        ]
        for scenario, target, status, named in cases:
            with pytest.raises(TargetError) as raised:
                await run_scenario(store, engine, scenario, target)
            assert raised.value.status == status, (target, raised.value.detail)
            assert named in raised.value.detail, raised.value.detail
        unique = await run_scenario(store, engine, "link_failure", "Uplink2")
        assert unique.degraded_devices == ["acc-dual"]
    finally:
        await store.close()
