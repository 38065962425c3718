"""Addressing: which addresses live in a subnet, which subnets a device is in, and which
addresses in use belong to no subnet at all.

IP arithmetic is not portable Cypher, so these fetch the candidate addresses and decide
containment in Python (``ipaddress``). The candidates come from the IP index kept at ingest
(``meshq_graph_engine.answers.ip_index``: the buckets a CIDR spans, or those holding an
uncovered address), each endpoint checked against the store as it is now; while the index is
not ready they come from a scan of every address, as they always did.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Any, Literal

from pydantic import Field

from meshq_graph_engine import answers
from meshq_graph_engine.answers import ip_index
from meshq_graph_engine.catalogue._common import (
    CidrFilter,
    CidrParam,
    DeviceName,
    VrfFilter,
    ip_in,
    ip_key,
    network_key,
    ordered,
)
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, Row

__all__ = ["DEFAULT_VRF", "QUERIES", "endpoint_addresses", "interface_addresses"]

DEFAULT_VRF = "default"

_INTERFACE_ADDRESSES = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface)-[:HAS_IP]->(a:IPAddress) "
    "RETURN a.ip AS ip, a.prefix_length AS prefix_length, coalesce(a.vrf, 'default') AS vrf, "
    "d.id AS device, i.name AS interface, coalesce(a.virtual, false) AS virtual"
)
_ENDPOINT_ADDRESSES = (
    "MATCH (e:Endpoint) UNWIND e.ips AS ip WITH e, ip "
    "WHERE $prefix = '' OR ip STARTS WITH $prefix "
    "RETURN e.mac AS mac, ip, e.hostname AS hostname, e.device AS device, "
    "e.interface AS interface, e.vlan AS vlan"
)


async def interface_addresses(ctx: QueryContext) -> list[dict[str, Any]]:
    """Every address configured on an interface, with its VRF (``default`` when unset)."""
    return await ctx.store.execute(_INTERFACE_ADDRESSES)


async def endpoint_addresses(ctx: QueryContext, within: str = "") -> list[dict[str, Any]]:
    """One row per (endpoint, address) it uses; ``within`` (a CIDR) narrows the scan to
    the IPv4 addresses that share its whole leading octets (the caller still checks)."""
    return await ctx.store.execute(_ENDPOINT_ADDRESSES, {"prefix": _text_prefix(within)})


def _text_prefix(cidr: str) -> str:
    """The text every IPv4 address in ``cidr`` starts with (``10.1.0.0/16`` -> ``10.1.``)."""
    if not cidr:
        return ""
    network = ipaddress.ip_network(cidr)
    if network.version != 4 or network.prefixlen < 8:
        return ""
    octets = str(network.network_address).split(".")[: min(network.prefixlen // 8, 3)]
    return ".".join(octets) + "."


class IpsInSubnetParams(Params):
    cidr: CidrParam
    vrf: VrfFilter


class SubnetsOnDeviceParams(Params):
    device: DeviceName


class OrphanedIpsParams(Params):
    cidr: CidrFilter


class SubnetAddressRow(Row):
    ip: str
    kind: Literal["interface", "endpoint"] = Field(
        description="Configured on a device interface, or used by an endpoint."
    )
    vrf: str
    prefix_length: int | None = Field(description="The interface address's; null for endpoints.")
    device: str | None
    interface: str | None
    mac: str | None = Field(description="The endpoint's MAC; null for interface addresses.")


class DeviceSubnetRow(Row):
    device: str
    subnet: str = Field(description="The subnet in CIDR form.")
    vrf: str
    version: int = Field(description="4 or 6.")
    interface: str
    address: str = Field(description="The device's address in it, with prefix length.")


class OrphanedIpRow(Row):
    ip: str
    mac: str
    hostname: str | None
    device: str | None
    interface: str | None
    vlan: int | None


async def _indexed_addresses(
    ctx: QueryContext, cidr: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(interface addresses, endpoint addresses) inside ``cidr``, from the IP index."""
    interfaces: list[dict[str, Any]] = []
    macs: set[str] = set()
    for bucket in await ip_index.buckets_in(ctx.store, cidr):
        for e in bucket.interfaces():
            if ip_in(e[1], cidr):
                interfaces.append(
                    {
                        "ip": e[1],
                        "vrf": e[2],
                        "prefix_length": e[3],
                        "device": e[4],
                        "interface": e[5],
                    }
                )
        macs.update(e[2] for e in bucket.endpoints() if ip_in(e[1], cidr))
    endpoints = [
        {**row, "ip": ip}
        for row in (await ip_index.live_endpoints(ctx.store, macs)).values()
        for ip in row["ips"] or ()
        if ip_in(ip, cidr)
    ]
    return interfaces, endpoints


async def _ips_in_subnet(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if await answers.ip_index_ready(ctx.store):
        interfaces, endpoints = await _indexed_addresses(ctx, params.cidr)
    else:
        interfaces = await interface_addresses(ctx)
        endpoints = (
            await endpoint_addresses(ctx, params.cidr) if params.vrf in ("", DEFAULT_VRF) else []
        )
    for a in interfaces:
        if ip_in(a["ip"], params.cidr) and params.vrf in ("", a["vrf"]):
            rows.append({**a, "kind": "interface", "mac": None})
    if params.vrf in ("", DEFAULT_VRF):
        for e in endpoints:
            if ip_in(e["ip"], params.cidr):
                rows.append(
                    {
                        "ip": e["ip"],
                        "prefix_length": None,
                        "vrf": DEFAULT_VRF,
                        "device": e["device"],
                        "interface": e["interface"],
                        "kind": "endpoint",
                        "mac": e["mac"],
                    }
                )
    for row in rows:
        row["_key"] = ip_key(row["ip"])
    out = ordered(rows, "_key", "kind", "device", "interface", "mac")
    columns = ("ip", "kind", "vrf", "prefix_length", "device", "interface", "mac")
    return [{c: row[c] for c in columns} for row in out]


IPS_IN_SUBNET = Query(
    name="ips_in_subnet",
    category="Addressing",
    summary="Every address inside a CIDR: on device interfaces and used by endpoints.",
    params=IpsInSubnetParams,
    row=SubnetAddressRow,
    run=_ips_in_subnet,
)


def _sort_subnets(rows: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    for row in rows:
        row["_key"] = network_key(row["subnet"])
    out = ordered(rows, "_key", "vrf", "interface", "address")
    for row in out:
        del row["_key"]
    return out


SUBNETS_ON_DEVICE = Query(
    name="subnets_on_device",
    category="Addressing",
    summary="The subnets a device has an address in, one row per address.",
    params=SubnetsOnDeviceParams,
    row=DeviceSubnetRow,
    cypher=(
        "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface)-[:HAS_IP]->(a:IPAddress)"
        "-[:IN_SUBNET]->(s:Subnet) WHERE d.id = $device "
        "RETURN d.id AS device, s.cidr AS subnet, coalesce(s.vrf, 'default') AS vrf, "
        "s.version AS version, i.name AS interface, a.address AS address"
    ),
    post=_sort_subnets,
)


def _known_networks(cidrs: list[str]) -> dict[tuple[int, int], set[int]]:
    """(version, prefix length) -> network addresses, for containment by lookup."""
    known: dict[tuple[int, int], set[int]] = defaultdict(set)
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        known[(network.version, network.prefixlen)].add(int(network.network_address))
    return known


def _covered(ip: str, known: dict[tuple[int, int], set[int]]) -> bool:
    address = ipaddress.ip_address(ip)
    bits = address.max_prefixlen
    for (version, length), networks in known.items():
        if version == address.version:
            mask = ((1 << length) - 1) << (bits - length)
            if (int(address) & mask) in networks:
                return True
    return False


async def _indexed_orphans(ctx: QueryContext, cidr: str) -> list[dict[str, Any]]:
    """The endpoint addresses no subnet covers, from the IP index's buckets that hold one."""
    wanted: set[tuple[str, str]] = set()
    for bucket in await ip_index.candidate_buckets(ctx.store, "orphans", cidr):
        wanted.update(
            (e[2], e[1]) for e in bucket.endpoints() if not e[3] and (not cidr or ip_in(e[1], cidr))
        )
    live = await ip_index.live_endpoints(ctx.store, {mac for mac, _ in wanted})
    return [
        {**row, "ip": ip, "_key": ip_key(ip)}
        for mac, row in live.items()
        for ip in row["ips"] or ()
        if (mac, ip) in wanted
    ]


async def _orphaned_ips(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    columns = ("ip", "mac", "hostname", "device", "interface", "vlan")
    if await answers.ip_index_ready(ctx.store):
        found = await _indexed_orphans(ctx, params.cidr)
        return [{c: row[c] for c in columns} for row in ordered(found, "_key", "mac")]
    subnets = await ctx.store.execute("MATCH (s:Subnet) RETURN s.cidr AS cidr")
    known = _known_networks([row["cidr"] for row in subnets])
    rows = []
    for e in await endpoint_addresses(ctx, params.cidr):
        if params.cidr and not ip_in(e["ip"], params.cidr):
            continue
        if not _covered(e["ip"], known):
            rows.append({**e, "_key": ip_key(e["ip"])})
    return [{c: row[c] for c in columns} for row in ordered(rows, "_key", "mac")]


ORPHANED_IPS = Query(
    name="orphaned_ips",
    category="Addressing",
    summary="Addresses endpoints use that lie in no subnet configured on any interface.",
    params=OrphanedIpsParams,
    row=OrphanedIpRow,
    run=_orphaned_ips,
)

QUERIES = [IPS_IN_SUBNET, SUBNETS_ON_DEVICE, ORPHANED_IPS]
