"""Hygiene: what is missing or inconsistent in the network's records.

docs/queries.md states exactly what each query counts; the tests pin those definitions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Literal

from network_discovery.model import InterfaceMode, InterfaceStatus
from pydantic import Field

from meshq_graph_engine import answers
from meshq_graph_engine.answers import ip_index
from meshq_graph_engine.catalogue._common import (
    DeviceFilter,
    SiteFilter,
    VrfFilter,
    ip_key,
    ordered,
)
from meshq_graph_engine.catalogue.addressing import (
    DEFAULT_VRF,
    endpoint_addresses,
    interface_addresses,
)
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, Row
from meshq_graph_engine.catalogue.endpoints import ENDPOINT_COLUMNS, EndpointRow

__all__ = ["QUERIES", "layer3_kind"]

_LOOPBACK = re.compile(r"^(?:Loopback\d|lo\d)")
_SVI = re.compile(r"^(?:Vlan\d|vlan\.\d|irb(?:\.\d|$)|BDI\d)")


def layer3_kind(name: str, mode: str | None) -> str | None:
    """``loopback``, ``svi`` or ``routed`` for an interface that should carry an address."""
    if _LOOPBACK.match(name):
        return "loopback"
    if _SVI.match(name):
        return "svi"
    if mode == "routed":
        return "routed"
    return None


class ManagedDevicesParams(Params):
    site: SiteFilter
    managed_only: bool = Field(True, description="Leave out neighbours nobody collected.")


class DeviceScopeParams(Params):
    device: DeviceFilter


class UnlocatedParams(Params):
    vlan: int = Field(0, ge=0, le=4094, description="Only endpoints seen in this VLAN; 0 for any.")


class MissingHostnameParams(Params):
    seen_by: DeviceFilter = Field(
        "", description="Only neighbours linked to this device (its id); empty for all."
    )


class DuplicateParams(Params):
    vrf: VrfFilter


class IsolatedDeviceRow(Row):
    device: str
    role: str | None
    site: str | None
    platform: str | None
    managed: bool


class UnaddressedInterfaceRow(Row):
    device: str
    interface: str
    mode: InterfaceMode | None
    admin_status: InterfaceStatus | None
    oper_status: InterfaceStatus | None
    description: str | None
    kind: Literal["loopback", "svi", "routed"] = Field(
        description="Why it should carry an address."
    )


class NoVersionDeviceRow(Row):
    device: str
    vendor: str | None
    platform: str | None
    model: str | None
    role: str | None
    site: str | None
    managed: bool


class NamelessDeviceRow(Row):
    device: str
    known_by: Literal["chassis_id", "management_ip", "none"] = Field(
        description="What identifies it instead of a system name."
    )
    chassis_id: str | None
    management_ip: str | None
    model: str | None
    description: str | None
    managed: bool
    seen_by: list[str] = Field(description="The devices linked to it.")


class UndescribedInterfaceRow(Row):
    device: str
    interface: str
    mode: InterfaceMode | None
    admin_status: InterfaceStatus | None
    oper_status: InterfaceStatus | None
    connected: bool = Field(description="Whether a link to another device is known.")


class DuplicateAddressRow(Row):
    ip: str
    vrf: str
    holders: int = Field(ge=2, description="How many interfaces and endpoints hold it.")
    kind: Literal["interface", "endpoint"]
    device: str | None
    interface: str | None
    mac: str | None = Field(description="The endpoint's MAC; null for an interface.")


_DEVICE_FILTER = "(d.managed = true OR $managed_only = false) AND ($site = '' OR d.site = $site)"

# A device's ``degree`` (the devices it has a link with, kept by the projection) is 0
# exactly when no link touches any of its interfaces: a property test, not a count per device.
DEVICES_WITHOUT_NEIGHBORS = Query(
    name="devices_without_neighbors",
    category="Hygiene",
    summary="Devices with no link to any other device.",
    params=ManagedDevicesParams,
    row=IsolatedDeviceRow,
    cypher=(
        "MATCH (d:Device) WHERE " + _DEVICE_FILTER + " AND d.degree = 0 "
        "RETURN d.id AS device, d.role AS role, d.site AS site, d.platform AS platform, "
        "d.managed AS managed ORDER BY device"
    ),
)


def _layer3_only(rows: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        kind = layer3_kind(row["interface"], row["mode"])
        if kind is not None and row["admin_status"] != "down":
            out.append({**row, "kind": kind})
    return ordered(out, "device", "interface")


_UNADDRESSED = (
    "OPTIONAL MATCH (i)-[h:HAS_IP]->(:IPAddress) "
    "WITH d, i, count(h) AS addresses WHERE addresses = 0 "
    "RETURN d.id AS device, i.name AS interface, i.mode AS mode, "
    "i.admin_status AS admin_status, i.oper_status AS oper_status, "
    "i.description AS description"
)

INTERFACES_WITHOUT_IPS = Query(
    name="interfaces_without_ips",
    category="Hygiene",
    summary="Layer-3 interfaces (routed ports, SVIs, loopbacks) not shut down, with no address.",
    params=DeviceScopeParams,
    row=UnaddressedInterfaceRow,
    cypher=(
        "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) WHERE d.managed = true " + _UNADDRESSED
    ),
    keyed={
        "device": "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) "
        "WHERE d.id = $device AND d.managed = true " + _UNADDRESSED
    },
    post=_layer3_only,
)

# Located means placed on a port (a LOCATED_AT to it), which the projection draws exactly for
# the endpoints whose interface is known (an interface always comes with its device): a
# property test, not a count of relationships per endpoint. The endpoints the test finds are
# kept at ingest (answers.unlocated), so the store looks up those alone.
_UNLOCATED = (
    "MATCH (e:Endpoint) WHERE e.interface IS NULL AND ($vlan = 0 OR e.vlan = $vlan) "
    "RETURN " + ENDPOINT_COLUMNS + " ORDER BY mac"
)
_UNLOCATED_KEPT = (
    "UNWIND $macs AS m MATCH (e:Endpoint) WHERE e.id = m AND e.interface IS NULL "
    "AND ($vlan = 0 OR e.vlan = $vlan) RETURN " + ENDPOINT_COLUMNS + " ORDER BY mac"
)


async def _without_location(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    if not await answers.unlocated_ready(ctx.store):
        return await ctx.store.execute(_UNLOCATED, {"vlan": params.vlan})
    macs = await answers.unlocated.macs(ctx.store, params.vlan)
    if not macs:
        return []
    return await ctx.store.execute(_UNLOCATED_KEPT, {"macs": macs, "vlan": params.vlan})


ENDPOINTS_WITHOUT_LOCATION = Query(
    name="endpoints_without_location",
    category="Hygiene",
    summary="Endpoints known (from ARP or a declaration) but not placed on any switch port.",
    params=UnlocatedParams,
    row=EndpointRow,
    run=_without_location,
)

DEVICES_MISSING_OS_VERSION = Query(
    name="devices_missing_os_version",
    category="Hygiene",
    summary="Devices whose software version is not known.",
    params=ManagedDevicesParams,
    row=NoVersionDeviceRow,
    cypher=(
        "MATCH (d:Device) WHERE " + _DEVICE_FILTER + " "
        "AND (d.os_version IS NULL OR d.os_version = '') "
        "RETURN d.id AS device, d.vendor AS vendor, d.platform AS platform, d.model AS model, "
        "d.role AS role, d.site AS site, d.managed AS managed ORDER BY device"
    ),
)


def _nameless(rows: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        seen_by = sorted(set(row["seen_by"] or ()))
        if params.seen_by and params.seen_by not in seen_by:
            continue
        device: str = row["device"]
        key, _, value = device.partition(":")
        chassis = row["chassis_id"] or (value if key == "chassis" else None)
        address = row["management_ip"] or (value if key == "ip" else None)
        known_by = "chassis_id" if chassis else "management_ip" if address else "none"
        out.append(
            {
                "device": device,
                "known_by": known_by,
                "chassis_id": chassis,
                "management_ip": address,
                "model": row["model"],
                "description": row["description"],
                "managed": row["managed"],
                "seen_by": seen_by,
            }
        )
    return ordered(out, "device")


_NAMELESS = (
    "MATCH (d:Device) WHERE d.hostname IS NULL OR d.hostname = '' "
    "OR d.id STARTS WITH 'chassis:' OR d.id STARTS WITH 'ip:' "
    "RETURN d.id AS device, d.chassis_id AS chassis_id, d.management_ip AS management_ip, "
    "d.model AS model, d.description AS description, d.managed AS managed"
)
# each device looked up by its key, its links followed from it (OPTIONAL MATCH: the store
# walks from the device rather than joining every link)
_SEEN_BY = (
    "UNWIND $ids AS x MATCH (d:Device) WHERE d.id = x "
    "OPTIONAL MATCH (d)-[:HAS_INTERFACE]->(:Interface)-[:CONNECTED_TO]-(:Interface)"
    "<-[:HAS_INTERFACE]-(n:Device) RETURN DISTINCT d.id AS device, n.id AS neighbor"
)


async def _missing_hostname(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    """The nameless devices first (a property test), then who is linked to those alone."""
    rows = await ctx.store.execute(_NAMELESS)
    seen: dict[str, list[str]] = defaultdict(list)
    if rows:
        ids = sorted(row["device"] for row in rows)
        for link in await ctx.store.execute(_SEEN_BY, {"ids": ids}):
            if link["neighbor"] is not None:
                seen[link["device"]].append(link["neighbor"])
    return _nameless([{**row, "seen_by": seen.get(row["device"], [])} for row in rows], params)


DEVICES_MISSING_HOSTNAME = Query(
    name="devices_missing_hostname",
    category="Hygiene",
    summary="Devices known only by chassis id or management address, without a system name.",
    params=MissingHostnameParams,
    row=NamelessDeviceRow,
    run=_missing_hostname,
)

_UNDESCRIBED = (
    "AND (i.description IS NULL OR i.description = '') "
    "OPTIONAL MATCH (i)-[l:CONNECTED_TO]-(:Interface) "
    "WITH d, i, count(l) AS links WHERE links > 0 OR i.oper_status = 'up' "
    "RETURN d.id AS device, i.name AS interface, i.mode AS mode, "
    "i.admin_status AS admin_status, i.oper_status AS oper_status, "
    "links > 0 AS connected ORDER BY device, interface"
)

INTERFACES_NO_DESCRIPTION = Query(
    name="interfaces_no_description",
    category="Hygiene",
    summary="Interfaces in use (up, or carrying a link) on collected devices, undescribed.",
    params=DeviceScopeParams,
    row=UndescribedInterfaceRow,
    cypher=(
        "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) WHERE d.managed = true " + _UNDESCRIBED
    ),
    keyed={
        "device": "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) "
        "WHERE d.id = $device AND d.managed = true " + _UNDESCRIBED
    },
)


#: (vrf, ip) -> its holders as (kind, device, interface, mac): one per interface or MAC
_Holders = dict[tuple[str, str], set[tuple[str, Any, Any, Any]]]


async def _duplicates(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    if await answers.ip_index_ready(ctx.store):
        return _duplicate_rows(await _indexed_holders(ctx), params)
    holders: _Holders = defaultdict(set)
    for a in await interface_addresses(ctx):
        if a["virtual"]:
            continue  # an anycast gateway: on every leaf by design
        holders[(a["vrf"], a["ip"])].add(("interface", a["device"], a["interface"], None))
    for e in await endpoint_addresses(ctx):
        holders[(DEFAULT_VRF, e["ip"])].add(("endpoint", e["device"], e["interface"], e["mac"]))
    return _duplicate_rows(holders, params)


async def _indexed_holders(ctx: QueryContext) -> _Holders:
    """The holders of the addresses in the IP index's buckets that hold a duplicate: the
    interface addresses as indexed, the endpoints as the store holds them now."""
    buckets = await ip_index.candidate_buckets(ctx.store, "dups")
    holders: _Holders = defaultdict(set)
    macs: set[str] = set()
    for bucket in buckets:
        for e in bucket.interfaces():
            if not e[6]:  # an anycast gateway: on every leaf by design
                holders[(e[2], e[1])].add(("interface", e[4], e[5], None))
        macs.update(e[2] for e in bucket.endpoints())
    keys = {bucket.key for bucket in buckets}
    for mac, row in (await ip_index.live_endpoints(ctx.store, macs)).items():
        for ip in row["ips"] or ():
            if ip_index.bucket_of(ip) in keys:
                holders[(DEFAULT_VRF, ip)].add(("endpoint", row["device"], row["interface"], mac))
    return holders


def _duplicate_rows(holders: _Holders, params: Any) -> list[dict[str, Any]]:
    rows = []
    for (vrf, ip), group in holders.items():
        if len(group) < 2 or params.vrf not in ("", vrf):
            continue
        for kind, device, interface, mac in group:
            rows.append(
                {
                    "ip": ip,
                    "vrf": vrf,
                    "holders": len(group),
                    "kind": kind,
                    "device": device,
                    "interface": interface,
                    "mac": mac,
                    "_key": ip_key(ip),
                }
            )
    out = ordered(rows, "_key", "vrf", "kind", "device", "interface", "mac")
    for row in out:
        del row["_key"]
    return out


DUPLICATE_IP_ADDRESSES = Query(
    name="duplicate_ip_addresses",
    category="Hygiene",
    summary="Addresses held by more than one interface or endpoint in the same VRF "
    "(anycast gateways, shared by design, are not counted).",
    params=DuplicateParams,
    row=DuplicateAddressRow,
    run=_duplicates,
)

QUERIES = [
    DEVICES_WITHOUT_NEIGHBORS,
    INTERFACES_WITHOUT_IPS,
    ENDPOINTS_WITHOUT_LOCATION,
    DEVICES_MISSING_OS_VERSION,
    DEVICES_MISSING_HOSTNAME,
    INTERFACES_NO_DESCRIPTION,
    DUPLICATE_IP_ADDRESSES,
]
