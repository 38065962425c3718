"""Inventory: what is in the graph, how much of it, and the metadata users keep on devices."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Self

from network_discovery.model import Criticality, MetadataPatch, PatchField
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator

from meshq_graph_engine import answers
from meshq_graph_engine.answers import summary
from meshq_graph_engine.answers.kept import DeviceRows, kept
from meshq_graph_engine.catalogue._common import DeviceName, SiteFilter
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, QueryError, Row

__all__ = ["QUERIES"]


def _role(value: str) -> str:
    return "_".join(value.lower().split())


class AllDevicesParams(Params):
    managed_only: bool = Field(True, description="Leave out neighbours nobody collected.")
    site: SiteFilter
    role: Annotated[str, AfterValidator(_role)] = Field(
        "",
        max_length=64,
        pattern=r"^[A-Za-z0-9_ ]*$",
        description="Only devices with this role (core, access, firewall, ...); empty for any.",
    )


class DeviceRow(Row):
    device: str = Field(
        description="The device id (its host name, or chassis:/ip: for a "
        "neighbour known without a name)."
    )
    hostname: str | None
    vendor: str | None
    platform: str | None
    model: str | None
    os_version: str | None
    serial: str | None
    role: str | None
    site: str | None
    tenant: str | None
    rack: str | None
    netbox_platform_slug: str | None = Field(
        description="NetBox's platform slug, when a NetBox pull recorded one."
    )
    management_ip: str | None
    criticality: Criticality | None
    managed: bool = Field(description="Collected (true) or only seen as a neighbour (false).")


def _kept_devices(ctx: QueryContext, params: Any) -> list[dict[str, Any]] | None:
    """The devices from the rows the writer keeps (None on a replica, or while they cannot
    be vouched for: the store is read then)."""
    devices = kept(ctx.engine, DeviceRows)
    if devices is None:
        return None
    return devices.answer(params.managed_only, params.site, params.role)


ALL_DEVICES = Query(
    name="all_devices",
    category="Inventory",
    summary="Every device with its platform, version, role and location.",
    params=AllDevicesParams,
    row=DeviceRow,
    community=True,
    cypher=(
        "MATCH (d:Device) WHERE (d.managed = true OR $managed_only = false) "
        "AND ($site = '' OR d.site = $site) AND ($role = '' OR d.role = $role) "
        "RETURN d.id AS device, d.hostname AS hostname, d.vendor AS vendor, "
        "d.platform AS platform, d.model AS model, d.os_version AS os_version, "
        "d.serial AS serial, d.role AS role, d.site AS site, d.tenant AS tenant, "
        "d.rack AS rack, d.netbox_platform_slug AS netbox_platform_slug, "
        "d.management_ip AS management_ip, d.criticality AS criticality, "
        "d.managed AS managed ORDER BY device"
    ),
    kept=_kept_devices,
)


class SummaryParams(Params):
    site: SiteFilter


class SummaryRow(Row):
    site: str | None = Field(description="The site counted; null for the whole network.")
    devices: int = Field(ge=0, description="Collected devices.")
    unmanaged_devices: int = Field(ge=0, description="Devices only seen as neighbours.")
    interfaces: int = Field(ge=0)
    links: int = Field(ge=0)
    ip_addresses: int = Field(ge=0)
    subnets: int = Field(ge=0)
    vlans: int = Field(ge=0)
    endpoints: int = Field(ge=0)
    endpoints_located: int = Field(ge=0)
    bgp_peers: int = Field(ge=0)
    bgp_established: int = Field(ge=0)


_SITE = "($site = '' OR d.site = $site)"
_COUNTS = {
    "interfaces": (
        "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) WHERE d.managed = true AND "
        + _SITE
        + " RETURN count(i) AS n"
    ),
    "links": (
        "MATCH (d:Device)-[:HAS_INTERFACE]->(:Interface)-[l:CONNECTED_TO]->(:Interface)"
        "<-[:HAS_INTERFACE]-(b:Device) WHERE $site = '' OR d.site = $site OR b.site = $site "
        "RETURN count(l) AS n"
    ),
}
_DEVICES = "MATCH (d:Device) WHERE " + _SITE + " RETURN d.id AS device, d.managed AS managed"
_ADDRESSES = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(:Interface)-[:HAS_IP]->(a:IPAddress)"
    "-[:IN_SUBNET]->(s:Subnet) WHERE d.managed = true AND " + _SITE + " "
    "RETURN a.id AS address, s.id AS subnet"
)
_VLANS = (
    "MATCH (v:VLAN) OPTIONAL MATCH (d:Device)-[:HAS_VLAN]->(v) "
    "RETURN v.vlan AS vlan, v.site AS vlan_site, d.site AS device_site"
)
_ENDPOINTS = (
    "MATCH (e:Endpoint) OPTIONAL MATCH (e)-[r:LOCATED_AT]->(:Interface) "
    "WITH e, count(r) AS ports "
    "RETURN e.device AS device, ports > 0 AS located, count(*) AS n"
)
_BGP = (
    "MATCH (d:Device)-[:HAS_BGP_PEER]->(p:BGPPeer) WHERE d.managed = true AND " + _SITE + " "
    "RETURN p.state AS state, count(*) AS n"
)


_SITE_VLANS = "MATCH (v:VLAN) WHERE v.site = $site RETURN DISTINCT v.vlan AS vlan"
_ALL_VLANS = "MATCH (v:VLAN) RETURN count(DISTINCT v.vlan) AS n"
_UNLOCATED_DEVICES = (
    "UNWIND $macs AS m MATCH (e:Endpoint) WHERE e.id = m AND e.interface IS NULL "
    "AND e.device IS NOT NULL RETURN e.device AS device"
)
_AT_SITE = "UNWIND $ids AS x MATCH (d:Device) WHERE d.id = x AND d.site = $site RETURN d.id AS id"
_UNLOCATED_AT_SITE = (
    "MATCH (e:Endpoint), (d:Device) WHERE e.interface IS NULL AND e.device = d.id "
    "AND d.site = $site RETURN count(e) AS n"
)


async def _unlocated_at(ctx: QueryContext, site: str) -> int:
    """Endpoints at ``site``'s devices that no port places (their ``device`` is known)."""
    if not await answers.unlocated_ready(ctx.store):
        rows = await ctx.store.execute(_UNLOCATED_AT_SITE, {"site": site})
        return int(rows[0]["n"]) if rows else 0
    macs = await answers.unlocated.macs(ctx.store)
    if not macs:
        return 0
    devices = [r["device"] for r in await ctx.store.execute(_UNLOCATED_DEVICES, {"macs": macs})]
    if not devices:
        return 0
    at_site = await ctx.store.execute(_AT_SITE, {"ids": sorted(set(devices)), "site": site})
    kept = {row["id"] for row in at_site}
    return sum(1 for device in devices if device in kept)


_ALL_ENDPOINTS = "MATCH (e:Endpoint) RETURN count(e) AS n"
# every interface has its device, so every link is one of the whole graph's
_ALL_LINKS = "MATCH (:Interface)-[l:CONNECTED_TO]->(:Interface) RETURN count(l) AS n"


async def _kept_summary(ctx: QueryContext, site: str) -> list[dict[str, Any]]:
    """summary_stats from the counters kept at ingest, plus the few counts that stay live
    because a property test or a table count answers them at once."""
    kept = await summary.read_site(ctx.store, site)
    if kept is None and site:
        return []  # no device at that site
    counts = kept or dict.fromkeys(("devices", "unmanaged_devices", "interfaces"), 0)

    def n(name: str) -> int:
        return int(counts.get(name) or 0)

    async def one(cypher: str, params: dict[str, Any] | None = None) -> int:
        rows = await ctx.store.execute(cypher, params or {})
        return int(rows[0]["n"]) if rows else 0

    row: dict[str, Any] = {
        "site": site or None,
        "devices": n("devices"),
        "unmanaged_devices": n("unmanaged_devices"),
        "interfaces": n("interfaces"),
        "ip_addresses": n("ip_addresses"),
        "subnets": n("subnets"),
        "endpoints_located": n("endpoints_located"),
        "bgp_peers": n("bgp_peers"),
        "bgp_established": n("bgp_established"),
    }
    if site:
        row["links"] = n("links")
        extra = [r["vlan"] for r in await ctx.store.execute(_SITE_VLANS, {"site": site})]
        row["vlans"] = (
            len(await summary.site_vlans(ctx.store, site) | {str(v) for v in extra})
            if extra
            else n("vlans")
        )
        row["endpoints"] = row["endpoints_located"] + await _unlocated_at(ctx, site)
    else:
        row["links"] = await one(_ALL_LINKS)
        row["vlans"] = await one(_ALL_VLANS)
        row["endpoints"] = await one(_ALL_ENDPOINTS)
    return [{k: row[k] for k in SummaryRow.model_fields}]


async def _summary(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    if await answers.summary_ready(ctx.store):
        return await _kept_summary(ctx, params.site)
    site = {"site": params.site}
    devices = await ctx.store.execute(_DEVICES, site)
    if params.site and not devices:
        return []
    ids = {row["device"] for row in devices}
    row: dict[str, Any] = {
        "site": params.site or None,
        "devices": sum(1 for d in devices if d["managed"]),
        "unmanaged_devices": sum(1 for d in devices if not d["managed"]),
    }
    for name, cypher in _COUNTS.items():
        row[name] = (await ctx.store.execute(cypher, site))[0]["n"]
    addresses = await ctx.store.execute(_ADDRESSES, site)
    row["ip_addresses"] = len({a["address"] for a in addresses})
    row["subnets"] = len({a["subnet"] for a in addresses})
    row["vlans"] = len(
        {
            v["vlan"]
            for v in await ctx.store.execute(_VLANS)
            if not params.site or params.site in (v["vlan_site"], v["device_site"])
        }
    )
    endpoints = [
        e for e in await ctx.store.execute(_ENDPOINTS) if not params.site or e["device"] in ids
    ]
    row["endpoints"] = sum(e["n"] for e in endpoints)
    row["endpoints_located"] = sum(e["n"] for e in endpoints if e["located"])
    states: Counter[str] = Counter()
    for peer in await ctx.store.execute(_BGP, site):
        states[peer["state"]] += peer["n"]
    row["bgp_peers"] = sum(states.values())
    row["bgp_established"] = states["established"]
    return [row]


SUMMARY_STATS = Query(
    name="summary_stats",
    category="Inventory",
    summary="How many devices, interfaces, links, addresses, endpoints and BGP sessions.",
    params=SummaryParams,
    row=SummaryRow,
    community=True,
    run=_summary,
)


def _comma_list(value: Any) -> Any:
    """A list, or one comma-separated string (``--param tags=a,b``)."""
    if isinstance(value, str):
        return [t for t in (part.strip() for part in value.split(",")) if t]
    return value


_Meta = Annotated[str | None, Field(default=None, max_length=64, pattern=r"^[\w .:/@#-]+$")]
_Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w .:/@#-]+$")]
_TagsInput = Annotated[list[_Tag], Field(max_length=32)]


class UpdateMetadataParams(Params):
    device: DeviceName
    site: _Meta = Field(None, description="Site to record; leave out to keep it.")
    tenant: _Meta = Field(None, description="Tenant to record; leave out to keep it.")
    rack: _Meta = Field(None, description="Rack to record; leave out to keep it.")
    role: _Meta = Field(None, description="Role (core, access, firewall, ...).")
    criticality: Criticality | None = Field(None, description="low, medium, high or critical.")
    tags: Annotated[
        list[_Tag] | None,
        BeforeValidator(_comma_list, json_schema_input_type=_TagsInput | str | None),
    ] = Field(None, max_length=32, description="Tags, replacing the current ones (list or a,b,c).")
    clear: Annotated[
        list[PatchField],
        BeforeValidator(_comma_list, json_schema_input_type=list[PatchField] | str),
    ] = Field(default_factory=list, description="Fields to remove: site, tenant, rack, role, ...")

    @model_validator(mode="after")
    def _check_patch(self) -> Self:
        try:  # a patch that changes nothing, or sets and clears a field, is a 422
            self.patch()
        except ValidationError as exc:
            raise ValueError("; ".join(e["msg"] for e in exc.errors())) from None
        return self

    def patch(self) -> MetadataPatch:
        changes = self.model_dump(exclude={"device"}, exclude_none=True)
        return MetadataPatch(hostname=self.device, source="user", **changes)


class MetadataRow(Row):
    """The device's metadata after the change."""

    device: str
    site: str | None
    tenant: str | None
    rack: str | None
    role: str | None
    criticality: Criticality | None
    tags: list[str]


_METADATA = (
    "MATCH (d:Device) WHERE d.id = $device "
    "RETURN d.id AS device, d.managed AS managed, d.site AS site, d.tenant AS tenant, "
    "d.rack AS rack, d.role AS role, d.criticality AS criticality, d.tags AS tags"
)


async def _update_metadata(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    found = await ctx.store.execute(_METADATA, {"device": params.device})
    if not found:
        raise QueryError(
            404, "Unknown device", f"no device {params.device!r}; all_devices lists them"
        )
    if not found[0]["managed"]:
        raise QueryError(
            409,
            "Device not collected",
            f"{params.device!r} is only seen as a neighbour; metadata is kept on collected devices",
        )
    if ctx.engine is None or not getattr(ctx.engine, "writes", False):
        raise QueryError(503, "Read-only", "this query needs the graph engine's writer")
    try:
        await ctx.engine.submit_patch(params.patch())
    except TimeoutError:
        raise QueryError(
            503,
            "Graph busy",
            "the change was queued but not applied within 60 s (the writer is busy with "
            "earlier snapshots); it will be applied in turn: read the device again shortly",
        ) from None
    rows = await ctx.store.execute(_METADATA, {"device": params.device})
    return [{k: v for k, v in row.items() if k != "managed"} for row in rows]


UPDATE_DEVICE_METADATA = Query(
    name="update_device_metadata",
    category="Inventory",
    summary="Set or clear a device's site, tenant, rack, role, criticality or tags.",
    params=UpdateMetadataParams,
    row=MetadataRow,
    feature="netbox_sync",
    writes=True,
    run=_update_metadata,
)

QUERIES = [ALL_DEVICES, SUMMARY_STATS, UPDATE_DEVICE_METADATA]
