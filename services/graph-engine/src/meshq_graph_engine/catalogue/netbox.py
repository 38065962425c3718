"""NetBox: what a push sends, and where discovered and declared (NetBox) cabling disagree.

Cables pulled from NetBox are links with evidence ``netbox_declared``, kept as the ``links``
facts of the pull's devices. A link that discovery also sees takes the stronger evidence in the
graph, so the declared set is read from those facts, not from the graph's links. The devices
NetBox knows are those a pull matched (``netbox_id`` set) and the ends of declared cables: a
discovered link with an end on one of them that NetBox has no cable for is drift, whether or
not NetBox has any cable on that device.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from network_discovery.model import Link, LinkEvidence
from pydantic import Field

from meshq_graph_engine.answers.kept import LinkRows, kept
from meshq_graph_engine.catalogue._common import DeviceFilter, SiteFilter, ordered
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, Row
from meshq_graph_engine.facts import payload_facts

__all__ = ["QUERIES"]

FEATURE = "netbox_sync"
CATEGORY = "NetBox"


class InventoryParams(Params):
    site: SiteFilter
    device: DeviceFilter


class InterfaceRow(Row):
    name: str
    description: str | None
    admin_status: str | None
    speed_mbps: int | None
    mtu: int | None
    mac: str | None
    mode: str | None
    access_vlan: int | None
    native_vlan: int | None
    trunk_vlans: list[int] = Field(description="VLANs a trunk allows; empty for all or none.")
    lag: str | None
    parent: str | None
    addresses: list[str] = Field(description="Addresses on the interface, in CIDR form.")


class VlanRow(Row):
    vlan: int
    name: str | None


class InventoryRow(Row):
    device: str
    hostname: str | None
    vendor: str | None
    platform: str | None
    model: str | None
    model_id: str | None = Field(description="The product id within the model, where they differ.")
    os_version: str | None
    serial: str | None
    role: str | None
    site: str | None
    tenant: str | None
    rack: str | None
    netbox_id: int | None = Field(description="The NetBox device the last pull matched.")
    netbox_platform: str | None = Field(
        description="NetBox's platform name (from a pull); platform stays discovery's own."
    )
    netbox_platform_slug: str | None = Field(description="NetBox's platform slug (from a pull).")
    management_ip: str | None
    tags: list[str]
    vlans: list[VlanRow] = Field(description="VLANs configured on the device.")
    interfaces: list[InterfaceRow]


_DEVICES = (
    "MATCH (d:Device) WHERE d.managed = true AND ($site = '' OR d.site = $site) "
    "AND ($device = '' OR d.id = $device) "
    "RETURN d.id AS device, d.hostname AS hostname, d.vendor AS vendor, d.platform AS platform, "
    "d.model AS model, d.model_id AS model_id, d.os_version AS os_version, "
    "d.serial AS serial, d.role AS role, "
    "d.site AS site, d.tenant AS tenant, d.rack AS rack, d.netbox_id AS netbox_id, "
    "d.netbox_platform AS netbox_platform, "
    "d.netbox_platform_slug AS netbox_platform_slug, d.management_ip AS management_ip, "
    "d.tags AS tags ORDER BY device"
)
_INTERFACES = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) WHERE d.id IN $ids "
    "RETURN d.id AS device, i.name AS name, i.description AS description, "
    "i.admin_status AS admin_status, i.speed_mbps AS speed_mbps, i.mtu AS mtu, i.mac AS mac, "
    "i.mode AS mode, i.access_vlan AS access_vlan, i.native_vlan AS native_vlan, "
    "i.trunk_vlans AS trunk_vlans, i.lag AS lag, i.parent AS parent ORDER BY device, name"
)
_VLANS = (
    "MATCH (d:Device)-[:HAS_VLAN]->(v:VLAN) WHERE d.id IN $ids "
    "RETURN d.id AS device, v.vlan AS vlan, v.name AS name ORDER BY device, vlan"
)
_ADDRESSES = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface)-[:HAS_IP]->(a:IPAddress) "
    "WHERE d.id IN $ids RETURN d.id AS device, i.name AS interface, a.address AS address "
    "ORDER BY device, interface, address"
)


async def _inventory(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    devices = await ctx.store.execute(_DEVICES, {"site": params.site, "device": params.device})
    ids = [d["device"] for d in devices]
    addresses: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in await ctx.store.execute(_ADDRESSES, {"ids": ids}):
        addresses[(row["device"], row["interface"])].append(row["address"])
    interfaces: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in await ctx.store.execute(_INTERFACES, {"ids": ids}):
        device = row.pop("device")
        row["addresses"] = addresses.get((device, row["name"]), [])
        row["trunk_vlans"] = row.get("trunk_vlans") or []
        interfaces[device].append(row)
    vlans: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in await ctx.store.execute(_VLANS, {"ids": ids}):
        vlans[row.pop("device")].append(row)
    return [
        {**d, "vlans": vlans.get(d["device"], []), "interfaces": interfaces.get(d["device"], [])}
        for d in devices
    ]


NETBOX_INVENTORY = Query(
    name="netbox_inventory",
    category=CATEGORY,
    summary="Every collected device with its interfaces, addresses and MACs, as a push sends them.",
    params=InventoryParams,
    row=InventoryRow,
    feature=FEATURE,
    run=_inventory,
)


class DriftParams(Params):
    device: DeviceFilter
    include_matched: bool = Field(
        False, description="Also list the links both NetBox and discovery have (status both)."
    )


class DriftRow(Row):
    status: Literal["netbox_only", "discovered_only", "both"]
    a_device: str
    a_interface: str
    b_device: str
    b_interface: str
    evidence: str = Field(description="The graph's evidence; netbox_declared when only NetBox.")


_FACTS = "MATCH (f:FactSet) WHERE f.kind = $kind RETURN f.payload AS payload"
_IN_NETBOX = "MATCH (d:Device) WHERE d.netbox_id IS NOT NULL RETURN d.id AS device"
_LINKS = (
    "MATCH (a:Device)-[:HAS_INTERFACE]->(ia:Interface)-[l:CONNECTED_TO]->(ib:Interface)"
    "<-[:HAS_INTERFACE]-(b:Device) "
    "RETURN a.id AS a_device, ia.name AS a_interface, b.id AS b_device, ib.name AS b_interface, "
    "l.evidence AS evidence"
)
_LINK_COLUMNS = ("a_device", "a_interface", "b_device", "b_interface", "evidence")
_DECLARED = LinkEvidence.NETBOX_DECLARED.value
Status = Literal["netbox_only", "discovered_only", "both"]


def _key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    a, b = (row["a_device"], row["a_interface"]), (row["b_device"], row["b_interface"])
    (ad, ai), (bd, bi) = sorted([a, b])
    return ad, ai, bd, bi


async def _links(ctx: QueryContext) -> list[dict[str, Any]]:
    """Every link of the graph (from the rows the writer keeps, where it keeps them)."""
    links = kept(ctx.engine, LinkRows)
    listed = None if links is None else links.listed()
    if listed is None:
        return await ctx.store.execute(_LINKS)
    return [dict(zip(_LINK_COLUMNS, row[:5], strict=True)) for row in listed]


async def _drift(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    declared: set[tuple[str, str, str, str]] = set()
    for fact in await ctx.store.execute(_FACTS, {"kind": "links"}):
        for raw in payload_facts(fact["payload"]):
            link = Link.model_validate(raw)
            if link.evidence is LinkEvidence.NETBOX_DECLARED:
                declared.add((link.a.device, link.a.interface, link.b.device, link.b.interface))
    known = {r["device"] for r in await ctx.store.execute(_IN_NETBOX)}
    known |= {k[0] for k in declared} | {k[2] for k in declared}
    if not known:
        return []
    rows: list[dict[str, Any]] = []
    for row in await _links(ctx):
        key = _key(row)
        discovered = row["evidence"] != _DECLARED
        if key in declared:
            status: Status = "both" if discovered else "netbox_only"
        elif discovered and (key[0] in known or key[2] in known):
            status = "discovered_only"
        else:
            continue
        if status == "both" and not params.include_matched:
            continue
        if params.device and params.device not in (key[0], key[2]):
            continue
        rows.append(
            {
                "status": status,
                "a_device": key[0],
                "a_interface": key[1],
                "b_device": key[2],
                "b_interface": key[3],
                "evidence": row["evidence"],
            }
        )
    return ordered(rows, "status", "a_device", "a_interface", "b_device", "b_interface")


NETBOX_DRIFT = Query(
    name="netbox_drift",
    category=CATEGORY,
    summary="Cables NetBox declares that discovery did not see, and discovered links NetBox lacks.",
    params=DriftParams,
    row=DriftRow,
    feature=FEATURE,
    run=_drift,
)

QUERIES = [NETBOX_INVENTORY, NETBOX_DRIFT]
