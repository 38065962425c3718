"""The rows the alerts service derives itself: an interface's window, who still sees a
device, which devices a single failure cuts off, and the devices near a change."""

from __future__ import annotations

import pytest
from meshq_alerts.sources import (
    heights,
    interface_row,
    near_change,
    redundancy_rows,
    visibility_rows,
)


def test_an_interface_window_folds_both_directions_and_says_what_is_unknown() -> None:
    row = interface_row(
        {
            "device": "edge1",
            "interface": "Ethernet1",
            "covered_s": 240.0,
            "samples": 4,
            "speed_bps": 1e9,
            "status_changes": 2,
            "flags": 1 | 4,
            "in_bps": 9e8,
            "out_bps": None,
            "in_pps": 990.0,
            "out_pps": None,
            "in_errors_ps": 10.0,
            "out_errors_ps": None,
            "in_discards_ps": 0.0,
            "out_discards_ps": None,
            "in_util_pct": 90.0,
            "out_util_pct": None,
            "in_util_pct_max": 95.0,
            "out_util_pct_max": None,
        },
        300.0,
    )
    assert row["covered_pct"] == 80.0
    assert row["util_pct"] == 90.0 and row["peak_util_pct"] == 95.0
    assert row["errors_ps"] == 10.0 and row["discards_ps"] == 0.0
    assert row["in_errors_pct"] == pytest.approx(1.0)  # 10 of 1000 packets
    assert row["out_errors_pct"] is None  # nothing measured out: unknown, not 0
    assert row["in_discards_pct"] == 0.0
    assert row["flags"] == ["wrapped", "gap"]
    assert row["status_changes"] == 2
    nothing = interface_row({"device": "d", "interface": "i"}, 60.0)
    assert nothing["util_pct"] is None and nothing["errors_ps"] is None
    assert nothing["covered_pct"] == 0.0


def test_a_device_no_collected_neighbour_reports_is_silent() -> None:
    links = [
        # acc-06 still claims its uplinks; neither distribution switch reports them
        {"device": "acc-06", "neighbor": "dist-01", "neighbor_managed": True, "both_ends": False},
        {"device": "acc-06", "neighbor": "dist-02", "neighbor_managed": True, "both_ends": False},
        {"device": "acc-06", "neighbor": "ap-12", "neighbor_managed": False, "both_ends": False},
        {"device": "acc-05", "neighbor": "dist-01", "neighbor_managed": True, "both_ends": True},
        {"device": "acc-05", "neighbor": "dist-02", "neighbor_managed": True, "both_ends": False},
        {"device": "lab-01", "neighbor": "phone", "neighbor_managed": False, "both_ends": False},
    ]
    rows = {r["device"]: r for r in visibility_rows(links)}
    assert rows["acc-06"]["managed_neighbors"] == 2 and rows["acc-06"]["seen_by"] == 0
    assert rows["acc-06"]["silent_to"] == ["dist-01", "dist-02"]
    assert rows["acc-05"]["seen_by"] == 1 and rows["acc-05"]["unseen_by"] == 1
    # a device with only unmanaged neighbours: nobody could report it, so never "silent"
    assert rows["lab-01"]["managed_neighbors"] == 0


def test_single_points_of_failure_come_from_what_each_failure_takes_down() -> None:
    figures = [
        {"device": "dist-01", "role": "distribution"},
        {"device": "dist-02", "role": "distribution"},
        {"device": "acc-01", "role": "access"},
        {"device": "acc-02", "role": "access"},
    ]
    affected = {
        "dist-01": ["dist-01", "acc-01"],
        "dist-02": ["dist-02"],
        "acc-01": ["acc-01", "ap-1"],
        "acc-02": ["acc-02"],
    }
    rows = {r["device"]: r for r in redundancy_rows(figures, affected, "access")}
    assert set(rows) == {"acc-01", "acc-02"}
    assert rows["acc-01"]["single_points"] == 1 and rows["acc-01"]["single_point"] == "dist-01"
    assert rows["acc-02"]["single_points"] == 0 and rows["acc-02"]["single_point"] is None
    assert len(redundancy_rows(figures, affected, None)) == 4


def test_devices_a_change_may_move() -> None:
    """core - d1, d2; a1 on d1 and d2; a2 on d1 only; a3 hangs below a2."""
    links = [("core", "d1"), ("core", "d2"), ("a1", "d1"), ("a1", "d2"), ("a2", "d1"), ("a3", "a2")]
    adjacent: dict[str, set[str]] = {}
    for x, y in links:
        adjacent.setdefault(x, set()).add(y)
        adjacent.setdefault(y, set()).add(x)
    height = heights(adjacent, ["core"])
    assert height == {"core": 0, "d1": 1, "d2": 1, "a1": 2, "a2": 2, "a3": 3}
    # a change at a1: its neighbours, and the way up (d1, d2, the core), not the other
    # access switches the distribution switches also serve
    assert near_change(adjacent, {"a1"}, 3, height) == {"a1", "d1", "d2", "core"}
    # a change at a3 reaches up through a2 and d1 to the core
    assert near_change(adjacent, {"a3"}, 3, height) == {"a3", "a2", "d1", "core"}
    assert near_change(adjacent, {"a3"}, 1, height) == {"a3", "a2"}
    # without an upstream every step counts
    assert near_change(adjacent, {"a1"}, 2, None) == {"a1", "d1", "d2", "a2", "core"}
    assert near_change(adjacent, {"x"}, 3, height) == {"x"}
