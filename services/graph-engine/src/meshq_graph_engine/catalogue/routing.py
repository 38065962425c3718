"""Routing: BGP sessions as the devices report them, and the BGP graph they form."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from network_discovery.model import BGPState, normalise_asn
from pydantic import BeforeValidator, Field

from meshq_graph_engine.catalogue._common import DeviceFilter, ip_key, ordered
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, Row

__all__ = ["QUERIES"]

_SESSIONS = (
    "MATCH (d:Device)-[:HAS_BGP_PEER]->(p:BGPPeer) "
    "WHERE ($device = '' OR d.id = $device) AND ($down = false OR p.state <> 'established') "
    "RETURN d.id AS device, coalesce(p.vrf, 'default') AS vrf, "
    "p.local_address AS local_address, p.local_asn AS local_asn, "
    "p.remote_address AS remote_address, p.remote_asn AS remote_asn, p.state AS state, "
    "p.external AS external, p.prefixes_received AS prefixes_received, "
    "p.uptime_seconds AS uptime_seconds, p.description AS description"
)
# One pass over the addresses for all sessions (no per-session lookup).
_OWNERS = "MATCH (a:IPAddress) WHERE a.ip IN $ips RETURN DISTINCT a.ip AS ip, a.device AS device"


async def _sessions(ctx: QueryContext, device: str, *, down: bool) -> list[dict[str, Any]]:
    """Sessions with ``remote_device``: the one device owning the remote address, if any."""
    rows = await ctx.store.execute(_SESSIONS, {"device": device, "down": down})
    ips = sorted({row["remote_address"] for row in rows})
    owners: dict[str, set[str]] = defaultdict(set)
    if ips:
        for row in await ctx.store.execute(_OWNERS, {"ips": ips}):
            owners[row["ip"]].add(row["device"])
    out = []
    for row in rows:
        found = owners.get(row["remote_address"], set())
        remote = next(iter(found)) if len(found) == 1 else None
        out.append({**row, "remote_device": remote, "_key": ip_key(row["remote_address"])})
    return out


def _strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        del row["_key"]
    return rows


class SessionParams(Params):
    device: DeviceFilter


_ASN_TEXT_MAX = 32


def _asn_or_any(value: Any) -> Any:
    """An integer, or asplain/asdot text (``"65001"``, ``"AS1.10"``); anything else (a
    boolean, a float) is left for the strict integer check to refuse."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return value
    if isinstance(value, str) and len(value) > _ASN_TEXT_MAX:
        raise ValueError(f"an AS number is at most {_ASN_TEXT_MAX} characters")
    if value in (0, "0", ""):
        return 0
    return normalise_asn(value)


#: What ``asn`` accepts, as its published JSON Schema says.
_AsnInput = (
    Annotated[int, Field(ge=0, le=4_294_967_295)]
    | Annotated[
        str, Field(max_length=_ASN_TEXT_MAX, pattern=r"^\s*(?:[Aa][Ss])?[0-9]+(?:\.[0-9]+)?\s*$|^$")
    ]
)


class BgpTopologyParams(Params):
    asn: Annotated[int, BeforeValidator(_asn_or_any, json_schema_input_type=_AsnInput)] = Field(
        0,
        ge=0,
        le=4_294_967_295,
        description="Only sessions with this AS at one end (asplain 65001 or asdot 1.10); "
        "0 for any.",
    )


_Asn = Annotated[int, Field(ge=0, le=4_294_967_295)]


class SessionRow(Row):
    """One BGP session as ``device`` reports it."""

    device: str
    vrf: str
    local_address: str | None
    local_asn: _Asn
    remote_address: str
    remote_asn: _Asn
    state: BGPState
    external: bool = Field(description="eBGP: the peer is in another AS.")
    prefixes_received: int | None
    uptime_seconds: int | None
    description: str | None
    remote_device: str | None = Field(
        description="The one device that owns the remote address, when the graph knows it."
    )


class BgpEdgeRow(Row):
    local_device: str
    local_asn: _Asn
    remote_device: str | None
    remote_address: str
    remote_asn: _Asn
    session: Literal["ebgp", "ibgp"]
    vrf: str
    state: BGPState
    mutual: bool = Field(description="Whether the remote device reports the session too.")


def _session_list(down: bool) -> Callable[[QueryContext, Any], Awaitable[list[dict[str, Any]]]]:
    async def run(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
        rows = await _sessions(ctx, params.device, down=down)
        return _strip(ordered(rows, "device", "vrf", "_key"))

    return run


BGP_PEERS = Query(
    name="bgp_peers",
    category="Routing",
    summary="Every BGP session with its state, ASNs, prefixes and the peer device if known.",
    params=SessionParams,
    row=SessionRow,
    feature="bgp_intelligence",
    run=_session_list(down=False),
)

BGP_PEERS_DOWN = Query(
    name="bgp_peers_down",
    category="Routing",
    summary="BGP sessions that are not established.",
    params=SessionParams,
    row=SessionRow,
    feature="bgp_intelligence",
    run=_session_list(down=True),
)


async def _topology(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    sessions = await _sessions(ctx, "", down=False)
    pairs = {(s["device"], s["remote_device"]) for s in sessions if s["remote_device"]}
    out = []
    for s in sessions:
        if params.asn and params.asn not in (s["local_asn"], s["remote_asn"]):
            continue
        out.append(
            {
                "local_device": s["device"],
                "local_asn": s["local_asn"],
                "remote_device": s["remote_device"],
                "remote_address": s["remote_address"],
                "remote_asn": s["remote_asn"],
                "session": "ebgp" if s["external"] else "ibgp",
                "vrf": s["vrf"],
                "state": s["state"],
                "mutual": (s["remote_device"], s["device"]) in pairs,
                "_key": s["_key"],
            }
        )
    return _strip(ordered(out, "local_device", "vrf", "_key"))


BGP_TOPOLOGY = Query(
    name="bgp_topology",
    category="Routing",
    summary="The BGP graph: device to peer, with ASNs, eBGP/iBGP and whether both ends report it.",
    params=BgpTopologyParams,
    row=BgpEdgeRow,
    feature="bgp_intelligence",
    run=_topology,
)

QUERIES = [BGP_PEERS, BGP_TOPOLOGY, BGP_PEERS_DOWN]
