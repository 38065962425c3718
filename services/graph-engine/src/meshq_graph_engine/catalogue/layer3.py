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
import socket
from collections import defaultdict
from typing import Any

from pydantic import Field

from meshq_graph_engine.catalogue._common import DeviceFilter, VrfFilter, ip_key, ordered
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


#: Pairs of addresses in one segment, found by the store: two addresses of a VRF in one
#: subnet share its ``Subnet`` node (``IN_SUBNET``), which is keyed by the VRF and the network
#: each address's own prefix gives (``a.network``); the VRFs are compared again as written
#: (unset is ``default``). Host routes (the whole prefix: one address) and anycast gateways are
#: left out; so is a pair of one device's addresses, or of two holders of one address.
_PAIRS = (
    "MATCH (a:IPAddress)-[:IN_SUBNET]->(:Subnet)<-[:IN_SUBNET]-(b:IPAddress) "
    "WHERE {mine} "
    "AND coalesce(a.virtual, false) = false AND coalesce(b.virtual, false) = false "
    "AND a.prefix_length < (CASE WHEN a.version = 4 THEN 32 ELSE 128 END) "
    "AND a.device <> b.device AND a.ip <> b.ip "
    "AND coalesce(a.vrf, 'default') = coalesce(b.vrf, 'default') "
    "AND ($vrf = '' OR coalesce(a.vrf, 'default') = $vrf) "
    "RETURN a.device AS device, a.interface AS interface, a.ip AS ip, b.device AS neighbor, "
    "b.interface AS neighbor_interface, b.ip AS neighbor_ip, a.network AS subnet, "
    "coalesce(a.vrf, 'default') AS vrf"
)
_ALL_PAIRS = _PAIRS.format(mine="$device = ''")
_DEVICE_PAIRS = _PAIRS.format(mine="a.device = $device")


def _ip_order(text: str) -> tuple[int, int]:
    """:func:`ip_key`, read without ``ipaddress`` for a dotted IPv4 address (the same key)."""
    try:
        return (4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big"))
    except OSError:
        return ip_key(text)


async def _layer3_edges(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    cypher = _DEVICE_PAIRS if params.device else _ALL_PAIRS
    rows = await ctx.store.execute(cypher, {"device": params.device, "vrf": params.vrf})
    keys: dict[str, tuple[int, int]] = {}

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        mine, theirs = row["ip"], row["neighbor_ip"]
        if mine not in keys:
            keys[mine] = _ip_order(mine)
        if theirs not in keys:
            keys[theirs] = _ip_order(theirs)
        return (
            row["device"],
            row["interface"],
            keys[mine],
            row["neighbor"],
            row["neighbor_interface"],
            keys[theirs],
            row["vrf"],
            row["subnet"],
        )

    rows.sort(key=key)
    return rows


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
