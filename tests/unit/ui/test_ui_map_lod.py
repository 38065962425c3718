"""The map's level of detail (``GET /map/view``): a large network arrives as site/role groups
with their links added up, a group opens device by device on demand, and no link is lost or
counted twice on the way."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from meshq_query_gateway.ui.map_api import (
    DETAIL_BELOW,
    MAX_EXPANDED,
    SPLIT_ABOVE,
    Network,
    group_id,
    level_of_detail,
)
from meshq_runtime.http import ProblemError

SITES = 12


def campus(access_per_site: int = 80) -> Network:
    """Per site: 2 cores, 4 distribution switches, access switches with two uplinks each (to
    a distribution pair, at confidence 1.0 or 0.8), and the cores cabled across sites."""
    devices: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []

    def device(name: str, site: str, role: str) -> None:
        devices[name] = {"device": name, "site": site, "role": role, "managed": True}

    def link(a: str, b: str, confidence: float, evidence: str) -> None:
        edges.append(
            {
                "a_device": a,
                "a_interface": f"to-{b}",
                "b_device": b,
                "b_interface": f"to-{a}",
                "evidence": evidence,
                "confidence": confidence,
            }
        )

    for s in range(SITES):
        site = f"site{s:02d}"
        cores = [f"{site}-core-{i}" for i in (1, 2)]
        dists = [f"{site}-dist-{i}" for i in range(1, 5)]
        for name in cores:
            device(name, site, "core")
        for i, name in enumerate(dists):
            device(name, site, "distribution")
            link(name, cores[i % 2], 1.0, "lldp_both")
        link(cores[0], cores[1], 1.0, "lldp_both")
        for a in range(access_per_site):
            name = f"{site}-acc-{a:03d}"
            device(name, site, "access")
            pair = dists[(a % 2) * 2 : (a % 2) * 2 + 2]
            link(name, pair[0], 1.0, "lldp_both")
            link(name, pair[1], 0.8, "lldp_one")
        if s:
            link(cores[0], f"site{s - 1:02d}-core-1", 1.0, "lldp_both")
    return Network(devices, edges)


def links_in(view: dict[str, Any]) -> int:
    return sum(e["links"] for e in view["edges"])


def test_a_large_network_arrives_as_groups_with_its_links_added_up() -> None:
    net = campus()
    assert len(net.devices) > DETAIL_BELOW
    view = level_of_detail(net, (), ())
    assert view["devices"] == len(net.devices) and view["links"] == len(net.edges)
    assert view["nodes"] == []
    assert len(view["groups"]) == SITES * 3
    assert sum(g["devices"] for g in view["groups"]) == len(net.devices)
    # a link inside a group is not drawn; every other one is in exactly one group edge
    inside = sum(
        1
        for e in net.edges
        if group_id(net.devices[e["a_device"]]["site"], net.devices[e["a_device"]]["role"])
        == group_id(net.devices[e["b_device"]]["site"], net.devices[e["b_device"]]["role"])
    )
    assert inside == SITES  # the core pair's link
    assert links_in(view) == len(net.edges) - inside
    access_up = next(
        e
        for e in view["edges"]
        if {e["source"], e["target"]}
        == {group_id("site03", "access"), group_id("site03", "distribution")}
    )
    assert access_up["links"] == 160 and access_up["confidence"] == 0.8
    assert access_up["evidence"] == ["lldp_both", "lldp_one"]
    assert "source_interface" not in access_up


def test_a_group_opens_device_by_device_and_keeps_every_link() -> None:
    net = campus()
    group = group_id("site05", "access")
    view = level_of_detail(net, [group], ())
    assert view["expanded"] == [group]
    assert {n["id"] for n in view["nodes"]} == {
        d for d, r in net.devices.items() if r["site"] == "site05" and r["role"] == "access"
    }
    assert links_in(view) == len(net.edges) - SITES
    # each access switch's uplinks now end on the (collapsed) distribution group
    ends = Counter(
        e["target"] if e["source"].startswith("site05-acc") else e["source"]
        for e in view["edges"]
        if "site05-acc" in e["source"] or "site05-acc" in e["target"]
    )
    assert ends == {group_id("site05", "distribution"): 80}


def test_a_device_shown_opens_its_group_and_two_drawn_devices_keep_their_ports() -> None:
    net = campus()
    view = level_of_detail(net, [group_id("site01", "distribution")], ["site01-acc-007"])
    assert sorted(view["expanded"]) == [
        group_id("site01", "access"),
        group_id("site01", "distribution"),
    ]
    edge = next(e for e in view["edges"] if e["id"] == "e:site01-acc-007~site01-dist-3")
    assert edge["links"] == 1
    assert (edge["source_interface"], edge["target_interface"]) == (
        "to-site01-dist-3",
        "to-site01-acc-007",
    )
    # a device that is not there draws nothing more
    assert level_of_detail(net, (), ["nowhere"])["nodes"] == []


def test_a_small_network_is_drawn_whole() -> None:
    net = campus(access_per_site=10)
    assert len(net.devices) <= DETAIL_BELOW
    view = level_of_detail(net, (), ())
    assert len(view["nodes"]) == len(net.devices)
    assert links_in(view) == len(net.edges)


def test_unknown_groups_and_too_many_devices_are_refused() -> None:
    net = campus()
    with pytest.raises(ProblemError) as unknown:
        level_of_detail(net, ["g:nowhere|core"], ())
    assert unknown.value.status == 422
    big = campus(access_per_site=600)
    parts = sorted({g["id"] for g in level_of_detail(big, (), ())["groups"] if "part_of" in g})
    assert sum(1 for _ in parts) * SPLIT_ABOVE >= MAX_EXPANDED
    with pytest.raises(ProblemError) as too_many:
        level_of_detail(big, parts, ())
    assert too_many.value.status == 422 and "at most" in str(too_many.value.detail)


def test_a_large_site_role_is_split_under_the_devices_it_hangs_off() -> None:
    net = campus(access_per_site=400)
    view = level_of_detail(net, (), ())
    access = [g for g in view["groups"] if g["id"].startswith(group_id("site02", "access"))]
    # the access switches of a site hang off dist-1 (even ones) and dist-3 (odd ones): 200
    # each, cut into parts of at most SPLIT_ABOVE
    assert all(g["part_of"] == group_id("site02", "access") for g in access)
    assert sorted((g["via"], g["devices"]) for g in access) == [
        ("site02-dist-1#1", 150),
        ("site02-dist-1#2", 50),
        ("site02-dist-3#1", 150),
        ("site02-dist-3#2", 50),
    ]
    assert sum(g["devices"] for g in view["groups"]) == len(net.devices)
    # one part opens alone, and its devices' links still all arrive somewhere
    part = next(g["id"] for g in access if g["via"] == "site02-dist-3#2")
    opened = level_of_detail(net, [part], ())
    assert len(opened["nodes"]) == 50 and {n["group"] for n in opened["nodes"]} == {part}
    inside = level_of_detail(net, (), ())
    assert sum(e["links"] for e in opened["edges"]) == sum(e["links"] for e in inside["edges"])
    # a device searched for opens its own part only
    shown = level_of_detail(net, (), ["site02-acc-399"])
    assert {n["group"] for n in shown["nodes"]} == {part}
