"""What-if on hand-built networks: the change set is applied to a copy, the live graph is not
touched, and the answer lists isolation, lost redundancy and changed upstream paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from meshq_graph_engine.blast import TargetError, apply_changes, compare, load_topology
from support.blastnet import campus, load_net


async def _whatif(tmp_path: Path, changes: list[dict]) -> dict:  # type: ignore[type-arg]
    store, engine = await load_net(campus(), tmp_path)
    try:
        before = await load_topology(store, engine)
        links = len(before.links)
        answer = compare(before, await apply_changes(before, store, changes))
        # the copy was changed, never the graph or the cached topology
        assert len((await load_topology(store, engine)).links) == links
        assert (await store.execute("MATCH (d:Device) RETURN count(d) AS n"))[0]["n"] == 6
        return answer
    finally:
        await store.close()


async def test_removing_a_distribution_switch(tmp_path: Path) -> None:
    answer = await _whatif(tmp_path, [{"action": "remove_device", "device": "dist-1"}])
    assert answer["removed_devices"] == ["dist-1"]
    assert answer["newly_isolated_devices"] == ["acc-single"]
    assert answer["newly_isolated_endpoints"] == 12
    assert answer["lost_redundancy"] == [
        {"device": "acc-dual", "paths_before": 2, "paths_after": 1}
    ]
    changed = {c["device"]: c for c in answer["changed_paths"]}
    assert changed["acc-single"]["after"] is None
    assert changed["acc-single"]["before"][1:] == ["dist-1", "acc-single"]
    assert changed["acc-dual"]["after"][1:] == ["dist-2", "acc-dual"]


async def test_a_new_uplink_restores_what_a_removal_takes(tmp_path: Path) -> None:
    answer = await _whatif(
        tmp_path,
        [
            {"action": "remove_link", "interface": "acc-single:Uplink1"},
            {"action": "add_link", "a": "acc-single:Uplink2", "b": "dist-2:Ethernet9"},
            {"action": "add_device", "device": "acc-new", "role": "Access"},
            {"action": "add_link", "a": "acc-new:Uplink1", "b": "dist-2:Ethernet10"},
        ],
    )
    assert answer["newly_isolated_devices"] == [] and answer["lost_redundancy"] == []
    changed = {c["device"]: c for c in answer["changed_paths"]}
    assert changed["acc-single"]["after"][1:] == ["dist-2", "acc-single"]
    assert changed["acc-new"] == {
        "device": "acc-new",
        "before": None,
        "after": ["core-1", "dist-2", "acc-new"],
    }


async def test_shutting_an_uplink_and_removing_a_vlan(tmp_path: Path) -> None:
    answer = await _whatif(
        tmp_path, [{"action": "shutdown_interface", "interface": "acc-dual:Uplink1"}]
    )
    assert answer["lost_redundancy"] == [
        {"device": "acc-dual", "paths_before": 2, "paths_after": 1}
    ]
    # a trunk with no allowed list carries every VLAN: removing one leaves it up
    kept = await _whatif(
        tmp_path / "v", [{"action": "remove_vlan", "interface": "acc-dual:Uplink1", "vlan": 10}]
    )
    assert kept["lost_redundancy"] == [] and kept["changed_paths"] == []


async def test_bad_changes_name_their_field(tmp_path: Path) -> None:
    store, engine = await load_net(campus(), tmp_path)
    try:
        topology = await load_topology(store, engine)
        for changes, status, field in [
            ([{"action": "remove_device", "device": "nope"}], 404, "changes.0.device"),
            (
                [
                    {"action": "remove_device", "device": "acc-dual"},
                    {"action": "remove_link", "interface": "acc-dual:Uplink1"},
                ],
                404,
                "changes.1.interface",
            ),
            (
                [{"action": "remove_link", "interface": "acc-single:Ethernet3"}],
                422,
                "changes.0.interface",
            ),
            (
                [{"action": "shutdown_interface", "interface": "acc-single:Gi9/9"}],
                404,
                "changes.0.interface",
            ),
            ([{"action": "add_link", "a": "acc-single:X1", "b": "ghost:X1"}], 404, "changes.0.b"),
            ([{"action": "add_device", "device": "core-1"}], 422, "changes.0.device"),
        ]:
            with pytest.raises(TargetError) as raised:
                await apply_changes(topology, store, changes)
            assert (raised.value.status, raised.value.field) == (status, field), changes
    finally:
        await store.close()
