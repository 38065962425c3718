"""Hygiene: what is missing or inconsistent in the network's records.

docs/queries.md states exactly what each query counts; the tests pin those definitions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Literal

from network_discovery.model import InterfaceMode, InterfaceStatus
from pydantic import Field

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

DEVICES_WITHOUT_NEIGHBORS = Query(
    name="devices_without_neighbors",
    category="Hygiene",
    summary="Devices with no link to any other device.",
    params=ManagedDevicesParams,
    row=IsolatedDeviceRow,
    cypher=(
        "MATCH (d:Device) WHERE " + _DEVICE_FILTER + " "
        "OPTIONAL MATCH (d)-[:HAS_INTERFACE]->(:Interface)-[l:CONNECTED_TO]-(:Interface) "
        "WITH d, count(l) AS links WHERE links = 0 "
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


INTERFACES_WITHOUT_IPS = Query(
    name="interfaces_without_ips",
    category="Hygiene",
    summary="Layer-3 interfaces (routed ports, SVIs, loopbacks) not shut down, with no address.",
    params=DeviceScopeParams,
    row=UnaddressedInterfaceRow,
    cypher=(
        "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) "
        "WHERE d.managed = true AND ($device = '' OR d.id = $device) "
        "OPTIONAL MATCH (i)-[h:HAS_IP]->(:IPAddress) "
        "WITH d, i, count(h) AS addresses WHERE addresses = 0 "
        "RETURN d.id AS device, i.name AS interface, i.mode AS mode, "
        "i.admin_status AS admin_status, i.oper_status AS oper_status, "
        "i.description AS description"
    ),
    post=_layer3_only,
)

ENDPOINTS_WITHOUT_LOCATION = Query(
    name="endpoints_without_location",
    category="Hygiene",
    summary="Endpoints known (from ARP or a declaration) but not placed on any switch port.",
    params=UnlocatedParams,
    row=EndpointRow,
    cypher=(
        "MATCH (e:Endpoint) WHERE $vlan = 0 OR e.vlan = $vlan "
        "OPTIONAL MATCH (e)-[r:LOCATED_AT]->(:Interface) "
        "WITH e, count(r) AS ports WHERE ports = 0 "
        "RETURN " + ENDPOINT_COLUMNS + " ORDER BY mac"
    ),
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


DEVICES_MISSING_HOSTNAME = Query(
    name="devices_missing_hostname",
    category="Hygiene",
    summary="Devices known only by chassis id or management address, without a system name.",
    params=MissingHostnameParams,
    row=NamelessDeviceRow,
    cypher=(
        "MATCH (d:Device) WHERE d.hostname IS NULL OR d.hostname = '' "
        "OR d.id STARTS WITH 'chassis:' OR d.id STARTS WITH 'ip:' "
        "OPTIONAL MATCH (d)-[:HAS_INTERFACE]->(:Interface)-[:CONNECTED_TO]-(:Interface)"
        "<-[:HAS_INTERFACE]-(n:Device) "
        "WITH d, collect(DISTINCT n.id) AS seen_by "
        "RETURN d.id AS device, d.chassis_id AS chassis_id, d.management_ip AS management_ip, "
        "d.model AS model, d.description AS description, d.managed AS managed, seen_by"
    ),
    post=_nameless,
)

INTERFACES_NO_DESCRIPTION = Query(
    name="interfaces_no_description",
    category="Hygiene",
    summary="Interfaces in use (up, or carrying a link) on collected devices, undescribed.",
    params=DeviceScopeParams,
    row=UndescribedInterfaceRow,
    cypher=(
        "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) "
        "WHERE d.managed = true AND ($device = '' OR d.id = $device) "
        "AND (i.description IS NULL OR i.description = '') "
        "OPTIONAL MATCH (i)-[l:CONNECTED_TO]-(:Interface) "
        "WITH d, i, count(l) AS links WHERE links > 0 OR i.oper_status = 'up' "
        "RETURN d.id AS device, i.name AS interface, i.mode AS mode, "
        "i.admin_status AS admin_status, i.oper_status AS oper_status, "
        "links > 0 AS connected ORDER BY device, interface"
    ),
)


async def _duplicates(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    # (vrf, ip) -> its holders as (kind, device, interface, mac): one per interface or MAC
    holders: dict[tuple[str, str], set[tuple[str, Any, Any, Any]]] = defaultdict(set)
    for a in await interface_addresses(ctx):
        if a["virtual"]:
            continue  # an anycast gateway: on every leaf by design
        holders[(a["vrf"], a["ip"])].add(("interface", a["device"], a["interface"], None))
    for e in await endpoint_addresses(ctx):
        holders[(DEFAULT_VRF, e["ip"])].add(("endpoint", e["device"], e["interface"], e["mac"]))
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
