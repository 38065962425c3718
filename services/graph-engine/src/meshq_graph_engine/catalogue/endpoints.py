"""Endpoints: where a host is plugged in, found by address, by MAC or by port."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from meshq_graph_engine import answers
from meshq_graph_engine.answers import ip_index
from meshq_graph_engine.catalogue._common import DeviceName, InterfaceParam, IpParam, MacParam
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, Row

__all__ = ["ENDPOINT_COLUMNS", "QUERIES", "EndpointRow"]

#: The row of one endpoint (``e``), shared with the hygiene queries.
ENDPOINT_COLUMNS = (
    "e.mac AS mac, e.ips AS ips, e.hostname AS hostname, e.vendor AS vendor, "
    "e.device AS device, e.interface AS interface, e.vlan AS vlan, "
    "e.first_seen AS first_seen, e.last_seen AS last_seen"
)
# Where it is: the switch's site and the port's description, when the endpoint is located.
_LOCATION = (
    "OPTIONAL MATCH (e)-[:LOCATED_AT]->(i:Interface)<-[:HAS_INTERFACE]-(d:Device) "
    "RETURN " + ENDPOINT_COLUMNS + ", d.site AS site, i.description AS port_description "
    "ORDER BY mac"
)


class EndpointRow(Row):
    """One endpoint (the columns of ``ENDPOINT_COLUMNS``)."""

    mac: str
    ips: list[str] = Field(description="The IPv4 and IPv6 addresses it was seen using.")
    hostname: str | None
    vendor: str | None = Field(description="From the MAC's OUI, when known.")
    device: str | None = Field(description="The switch it is plugged into, when located.")
    interface: str | None = Field(description="The edge port on that switch.")
    vlan: int | None
    first_seen: str | None = Field(description="RFC 3339 time it was first seen.")
    last_seen: str | None = Field(description="RFC 3339 time it was last seen.")


class LocatedEndpointRow(EndpointRow):
    site: str | None = Field(description="The switch's site.")
    port_description: str | None = Field(description="The switch port's description.")


class ByIpParams(Params):
    ip: IpParam


class ByMacParams(Params):
    mac: MacParam


class OnInterfaceParams(Params):
    device: DeviceName
    interface: InterfaceParam


_BY_IP = "MATCH (e:Endpoint) WHERE $ip IN e.ips " + _LOCATION
# The endpoints the IP index names, each looked up by its MAC and checked again.
_BY_IP_INDEXED = "UNWIND $macs AS m MATCH (e:Endpoint) WHERE e.id = m AND $ip IN e.ips " + _LOCATION


async def _locate_by_ip(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    """From the address's bucket of the IP index (one key), or a scan while it is not ready."""
    if not await answers.ip_index_ready(ctx.store):
        return await ctx.store.execute(_BY_IP, {"ip": params.ip})
    found = await ip_index.read_buckets(ctx.store, [ip_index.bucket_of(params.ip)])
    macs = sorted(
        {e[2] for bucket in found.values() for e in bucket.endpoints() if e[1] == params.ip}
    )
    if not macs:
        return []
    return await ctx.store.execute(_BY_IP_INDEXED, {"macs": macs, "ip": params.ip})


LOCATE_ENDPOINT_BY_IP = Query(
    name="locate_endpoint_by_ip",
    category="Endpoints",
    summary="The endpoints using an IPv4 or IPv6 address, with the switch port each is on.",
    params=ByIpParams,
    row=LocatedEndpointRow,
    run=_locate_by_ip,
)

LOCATE_ENDPOINT_BY_MAC = Query(
    name="locate_endpoint_by_mac",
    category="Endpoints",
    summary="The endpoint with a MAC address (any notation), with the switch port it is on.",
    params=ByMacParams,
    row=LocatedEndpointRow,
    cypher="MATCH (e:Endpoint) WHERE e.id = $mac " + _LOCATION,
)

ENDPOINTS_ON_INTERFACE = Query(
    name="endpoints_on_interface",
    category="Endpoints",
    summary="The endpoints located on one switch port.",
    params=OnInterfaceParams,
    row=EndpointRow,
    cypher=(
        "MATCH (e:Endpoint)-[:LOCATED_AT]->(i:Interface)<-[:HAS_INTERFACE]-(d:Device) "
        "WHERE d.id = $device AND i.name = $interface "
        "RETURN " + ENDPOINT_COLUMNS + " ORDER BY mac"
    ),
)

QUERIES = [LOCATE_ENDPOINT_BY_IP, LOCATE_ENDPOINT_BY_MAC, ENDPOINTS_ON_INTERFACE]
