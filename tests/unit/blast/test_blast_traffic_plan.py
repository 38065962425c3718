"""Traffic at risk on hand-built networks (real engine and store): which cables a failure
removes, which uplinks each degraded device lost and kept, bundles that keep some members, and
the verdicts from given per-end summaries (the shape ``MetricsStore.summarise`` answers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshq_graph_engine.blast import load_topology, resolve, simulate
from meshq_graph_engine.blast._traffic import TrafficPlan, assess, plan
from support.blastnet import Net, campus, load_net

M = 1_000_000
G = 1_000_000_000
WINDOW = {"since": "2026-03-01T08:00:00Z", "until": "2026-03-01T08:15:00Z", "resolution": "raw"}


def end(in_bps: float | None, out_bps: float | None, speed: float | None) -> dict[str, Any]:
    return {
        "in_bps": in_bps,
        "out_bps": out_bps,
        "speed_bps": speed,
        "in_util_pct_max": None,
        "out_util_pct_max": None,
    }


async def traffic_plan(net: Net, tmp_path: Path, scenario: str, target: str) -> TrafficPlan:
    store, engine = await load_net(net, tmp_path)
    try:
        topology = await load_topology(store, engine)
        failure = await resolve(topology, store, scenario, target, engine)
        return plan(topology, simulate(topology, failure, 3))
    finally:
        await store.close()


async def test_a_distribution_failure_moves_the_dual_homed_access_uplink(tmp_path: Path) -> None:
    traffic = await traffic_plan(campus(), tmp_path, "device_failure", "dist-1")
    # every cable of dist-1: two to the cores, one to each access switch
    assert len(traffic.removed) == 4
    # acc-single lost its only uplink (affected): no verdict; acc-dual keeps Uplink2
    [acc] = traffic.devices
    assert acc.device == "acc-dual"
    assert [x.a.name if x.a.device == "acc-dual" else x.b.name for x in acc.lost] == ["Uplink1"]
    assert [x.a.name if x.a.device == "acc-dual" else x.b.name for x in acc.left] == ["Uplink2"]
    assert ("acc-dual", "Uplink2") in traffic.keys and ("dist-2", "Ethernet3") in traffic.keys

    found = {
        ("acc-dual", "Uplink1"): end(200 * M, 700 * M, G),
        ("acc-dual", "Uplink2"): end(100 * M, 250 * M, G),
    }
    answer = assess(traffic, found, WINDOW)
    [row] = answer["devices"]
    assert row["moved_out_bps"] == 700 * M and row["room_out_bps"] == 750 * M
    assert row["moved_in_bps"] == 200 * M and row["room_in_bps"] == 900 * M
    assert row["verdict"] == "carried" and row["short_by_bps"] is None
    # the cables to the cores and to acc-single were not measured
    assert answer["status"] == "partial" and answer["removed_links_unknown"] == 3
    assert answer["removed_bps"] is None and answer["removed_bps_known"] == 900 * M

    found[("acc-dual", "Uplink2")] = end(100 * M, 350 * M, G)
    [row] = assess(traffic, found, WINDOW)["devices"]
    assert row["verdict"] == "short" and row["short_by_bps"] == 50 * M

    # a surviving uplink whose speed nobody reported: unknown, never a guess
    found[("acc-dual", "Uplink2")] = end(100 * M, 350 * M, None)
    [row] = assess(traffic, found, WINDOW)["devices"]
    assert row["verdict"] == "unknown" and "speed" in row["reason"]
    assert row["moved_out_bps"] is None

    # the lost uplink measured nowhere: unknown
    del found[("acc-dual", "Uplink1")]
    [row] = assess(traffic, found, WINDOW)["devices"]
    assert row["verdict"] == "unknown" and "no samples" in row["reason"]


def bundled() -> Net:
    net = Net().device("core-1", "core").device("core-2", "core").device("acc", "access")
    member = {"lag": "Port-channel1"}
    net.link("acc", "core-1", a_port="Et1", a_cfg=member, b_cfg=member)
    net.link("acc", "core-1", a_port="Et2", a_cfg=member, b_cfg=member)
    net.port("acc", "Port-channel1", mode="trunk")
    net.link("acc", "core-2", a_port="Et3")
    return net


async def test_a_bundle_that_keeps_a_member_is_checked_over_the_members_left(
    tmp_path: Path,
) -> None:
    traffic = await traffic_plan(bundled(), tmp_path, "link_failure", "acc:Et1")
    assert traffic.devices == []  # nothing degraded: the bundle is still up
    [bundle] = traffic.bundles
    assert {bundle.a, bundle.b} == {"acc", "core-1"} and len(bundle.left) == 1
    found = {
        ("acc", "Ethernet1"): end(300 * M, 600 * M, G),
        ("acc", "Ethernet2"): end(300 * M, 500 * M, G),
    }
    answer = assess(traffic, found, WINDOW)
    [row] = answer["bundles"]
    assert row["verdict"] == "short" and row["short_by_bps"] == 100 * M
    assert answer["status"] == "measured" and answer["removed_bps"] == 900 * M


async def test_a_failure_that_removes_nothing_measurable_says_so(tmp_path: Path) -> None:
    traffic = await traffic_plan(campus(), tmp_path, "device_failure", "acc-single")
    answer = assess(traffic, {}, WINDOW)
    assert answer["status"] == "unknown" and answer["removed_links"] == 1
    assert answer["removed_bps"] is None and answer["links"][0]["measured"] == "none"
