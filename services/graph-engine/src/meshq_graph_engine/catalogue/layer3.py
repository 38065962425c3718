"""Layer-3 adjacency: which devices share a subnet, interface to interface.

Two interfaces in the same VRF whose addresses lie in one subnet (a point-to-point /30 or /31,
a broadcast segment) are layer-3 neighbours, whether or not LLDP or CDP saw a cable. A host
route (/32, /128) is no segment: two devices holding the same loopback address are a duplicate,
not a link. Anycast gateways (addresses marked virtual) are left out, as are two holders of one
address.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Any

from pydantic import Field

from meshq_graph_engine.catalogue._common import DeviceFilter, VrfFilter, ip_key, ordered
from meshq_graph_engine.catalogue.addressing import interface_addresses
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, Row

__all__ = ["QUERIES"]


class Layer3Params(Params):
    device: DeviceFilter
    vrf: VrfFilter


class Layer3EdgeRow(Row):
    device: str
    interface: str
    ip: str
    neighbor: str
    neighbor_interface: str
    neighbor_ip: str
    subnet: str = Field(description="The subnet both addresses are in (CIDR).")
    vrf: str


async def _layer3_edges(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    segments: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for a in await interface_addresses(ctx):
        if a["virtual"] or (params.vrf and a["vrf"] != params.vrf):
            continue
        network = ipaddress.ip_interface(f"{a['ip']}/{a['prefix_length']}").network
        if network.num_addresses == 1:
            continue
        segments[(a["vrf"], str(network))].append(a)
    rows = []
    for (vrf, subnet), members in segments.items():
        for mine in members:
            if params.device and mine["device"] != params.device:
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
                        "_key": ip_key(mine["ip"]),
                    }
                )
    out = ordered(rows, "device", "interface", "_key", "neighbor", "neighbor_interface")
    for row in out:
        del row["_key"]
    return out


LAYER3_EDGES = Query(
    name="layer3_edges",
    category="Routing tables",
    summary="Layer-3 neighbours: interfaces of two devices with addresses in one subnet "
    "(not host routes, not anycast gateways), per VRF.",
    params=Layer3Params,
    row=Layer3EdgeRow,
    feature="firewall_queries",
    run=_layer3_edges,
)

QUERIES = [LAYER3_EDGES]
