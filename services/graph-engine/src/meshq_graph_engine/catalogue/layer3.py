"""Layer-3 adjacency: which devices share a subnet, interface to interface; and where a
device's printed routing table and the one its configuration implies disagree.

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

_ROUTES = (
    "MATCH (r:Route) WHERE ($device = '' OR r.device = $device) "
    "RETURN r.device AS device, r.vrf AS vrf, r.prefix AS prefix, r.protocol AS protocol, "
    "r.next_hops AS next_hops, r.interfaces AS interfaces, "
    "coalesce(r.origin, 'collected') AS origin"
)
#: Protocols compared as one (an IOS aggregate is printed as a BGP route).
_SAME = {"aggregate": "bgp", "local": "connected"}


class RouteDisagreementRow(Row):
    device: str
    vrf: str
    prefix: str
    difference: str = Field(
        description="only_printed: in the device's table, not implied by the configurations; "
        "only_derived: implied, not in the table; protocol; next_hops."
    )
    printed_protocol: str | None
    printed_next_hops: list[str]
    derived_protocol: str | None
    derived_next_hops: list[str]


def _hops(row: dict[str, Any]) -> list[str]:
    addresses = [a for a in row.get("next_hops") or () if a]
    return sorted(addresses or [i for i in row.get("interfaces") or () if i])


def _prefix_order(key: tuple[str, str]) -> tuple[str, int, int, int]:
    network = ipaddress.ip_network(key[1], strict=False)
    return (key[0], network.version, int(network.network_address), network.prefixlen)


async def _route_disagreements(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    tables: dict[str, dict[str, dict[tuple[str, str], dict[str, Any]]]] = defaultdict(
        lambda: {"collected": {}, "derived": {}}
    )
    for row in await ctx.store.execute(_ROUTES, {"device": params.device}):
        vrf = row["vrf"] or "default"
        if params.vrf and vrf != params.vrf:
            continue
        if row["protocol"] == "local":  # a printed table's own addresses: never derived
            continue
        origin = "derived" if row["origin"] == "derived" else "collected"
        key = (vrf, row["prefix"])
        known = tables[row["device"]][origin].get(key)
        if known is None or row["protocol"] in ("connected", "static"):
            tables[row["device"]][origin][key] = row
    rows = []
    for device, both in tables.items():
        printed, derived = both["collected"], both["derived"]
        # only the VRFs whose table the device printed and the configuration gives
        vrfs = {k[0] for k in printed} & {k[0] for k in derived}
        keys = {k for k in set(printed) | set(derived) if k[0] in vrfs}
        for key in sorted(keys, key=_prefix_order):
            mine, theirs = printed.get(key), derived.get(key)
            if mine is None:
                difference = "only_derived"
            elif theirs is None:
                difference = "only_printed"
            elif _SAME.get(mine["protocol"], mine["protocol"]) != _SAME.get(
                theirs["protocol"], theirs["protocol"]
            ):
                difference = "protocol"
            elif _hops(mine) != _hops(theirs):
                difference = "next_hops"
            else:
                continue
            rows.append(
                {
                    "device": device,
                    "vrf": key[0],
                    "prefix": key[1],
                    "difference": difference,
                    "printed_protocol": mine["protocol"] if mine else None,
                    "printed_next_hops": _hops(mine) if mine else [],
                    "derived_protocol": theirs["protocol"] if theirs else None,
                    "derived_next_hops": _hops(theirs) if theirs else [],
                }
            )
    return ordered(rows, "device", "vrf")


ROUTE_DISAGREEMENTS = Query(
    name="route_disagreements",
    category="Routing tables",
    summary="Where a device's printed routing table and the routes its configuration implies "
    "(worked out over every configuration read) differ: a route only one has, or another "
    "protocol or next hops.",
    params=Layer3Params,
    row=RouteDisagreementRow,
    feature="firewall_queries",
    run=_route_disagreements,
)

QUERIES = [LAYER3_EDGES, ROUTE_DISAGREEMENTS]
