"""layer3_edges, found by the store through the addresses' subnets, against the segments worked
out address by address with ``ipaddress``: VRFs unset and ``default`` alike, IPv6, host routes,
anycast gateways and two holders of one address."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Any

import pytest
from conftest import Graph, load_snapshot
from meshq_graph_engine.catalogue import REGISTRY, run_query
from meshq_graph_engine.catalogue._common import ip_key, ordered
from meshq_graph_engine.catalogue.addressing import interface_addresses
from network_discovery.model import IPAddress

EXTRA = [
    # unset VRF and "default" are one table
    {"device": "hq-core-01", "interface": "Et10", "address": "10.30.0.2/24", "vrf": "default"},
    # IPv6 on a segment both cores share
    {"device": "hq-core-02", "interface": "Vlan10", "address": "2001:db8:10::3/64"},
    # an anycast gateway on both cores: no edge
    {"device": "hq-core-01", "interface": "Vlan30", "address": "10.30.30.1/24", "virtual": True},
    {"device": "hq-core-02", "interface": "Vlan30", "address": "10.30.30.1/24", "virtual": True},
    {"device": "hq-core-02", "interface": "Vlan30", "address": "10.30.30.3/24"},
    # IPv6 host routes on two devices: a duplicate, no segment
    {"device": "hq-core-01", "interface": "Loopback0", "address": "2001:db8::1/128"},
    {"device": "hq-core-02", "interface": "Loopback0", "address": "2001:db8::1/128"},
    # a point-to-point /31 in a VRF
    {"device": "hq-acc-01", "interface": "Vlan98", "address": "10.98.0.0/31", "vrf": "blue"},
    {"device": "hq-acc-02", "interface": "Vlan98", "address": "10.98.0.1/31", "vrf": "blue"},
]


async def _by_address(graph: Graph, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The segments worked out from every interface address, one by one."""
    segments: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for a in await interface_addresses(graph.ctx):
        if a["virtual"] or (params.get("vrf") and a["vrf"] != params["vrf"]):
            continue
        network = ipaddress.ip_interface(f"{a['ip']}/{a['prefix_length']}").network
        if network.num_addresses > 1:
            segments[(a["vrf"], str(network))].append(a)
    rows = []
    for (vrf, subnet), members in segments.items():
        for mine in members:
            if params.get("device") and mine["device"] != params["device"]:
                continue
            for theirs in members:
                if theirs["device"] == mine["device"] or theirs["ip"] == mine["ip"]:
                    continue
                rows.append(
                    {
                        "device": mine["device"],
                        "interface": mine["interface"],
                        "ip": mine["ip"],
                        "neighbor": theirs["device"],
                        "neighbor_interface": theirs["interface"],
                        "neighbor_ip": theirs["ip"],
                        "subnet": subnet,
                        "vrf": vrf,
                        "_ip": ip_key(mine["ip"]),
                        "_theirs": ip_key(theirs["ip"]),
                    }
                )
    out = ordered(rows, "device", "interface", "_ip", "neighbor", "neighbor_interface", "_theirs")
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in out]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"device": "hq-core-01"},
        {"device": "hq-core-02"},
        {"vrf": "default"},
        {"vrf": "blue"},
        {"device": "hq-acc-01", "vrf": "blue"},
        {"device": "hq-wlc-01", "vrf": "blue"},
    ],
    ids=["all", "core-01", "core-02", "default", "blue", "acc-01-blue", "none"],
)
async def test_layer3_edges_are_the_segments_address_by_address(
    lady: Graph, params: dict[str, Any]
) -> None:
    snapshot = load_snapshot()
    extra = [IPAddress.model_validate(a) for a in EXTRA]
    await lady.engine.apply_snapshot(
        snapshot.model_copy(
            update={"snapshot_id": "layer3", "ip_addresses": [*snapshot.ip_addresses, *extra]}
        )
    )
    rows = (await run_query(REGISTRY, "layer3_edges", params, lady.ctx)).rows
    assert rows == await _by_address(lady, params)
    if not params:
        pairs = {(r["device"], r["ip"], r["neighbor_ip"], r["vrf"]) for r in rows}
        assert ("hq-core-01", "10.30.0.2", "10.30.0.1", "default") in pairs
        assert ("hq-core-01", "2001:db8:10::2", "2001:db8:10::3", "default") in pairs
        assert ("hq-acc-02", "10.98.0.1", "10.98.0.0", "blue") in pairs
        assert not any("10.30.30.1" in (r["ip"], r["neighbor_ip"]) for r in rows)
        assert not any(r["subnet"].endswith("/128") for r in rows)
