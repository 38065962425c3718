"""Routing: BGP sessions as the devices report them, and the BGP graph they form."""

from __future__ import annotations

from typing import Annotated, Any

from network_discovery.model import normalise_asn
from pydantic import BeforeValidator, Field

from meshq_graph_engine.catalogue._common import DeviceFilter, ip_key, ordered
from meshq_graph_engine.catalogue.base import Params, Query

__all__ = ["QUERIES"]

# The session's remote address resolves to a device when exactly one device has an
# interface address equal to it.
_SESSIONS = (
    "MATCH (d:Device)-[:HAS_BGP_PEER]->(p:BGPPeer) WHERE {where} "
    "OPTIONAL MATCH (a:IPAddress) WHERE a.ip = p.remote_address "
    "WITH d, p, collect(DISTINCT a.device) AS owners "
    "RETURN d.id AS device, coalesce(p.vrf, 'default') AS vrf, "
    "p.local_address AS local_address, p.local_asn AS local_asn, "
    "p.remote_address AS remote_address, p.remote_asn AS remote_asn, p.state AS state, "
    "p.external AS external, p.prefixes_received AS prefixes_received, "
    "p.uptime_seconds AS uptime_seconds, p.description AS description, owners"
)
_BY_DEVICE = "($device = '' OR d.id = $device)"


class SessionParams(Params):
    device: DeviceFilter


def _asn_or_any(value: Any) -> Any:
    if not isinstance(value, bool) and value in (0, "0", ""):
        return 0
    return normalise_asn(value)


class BgpTopologyParams(Params):
    asn: Annotated[int, BeforeValidator(_asn_or_any)] = Field(
        0,
        ge=0,
        le=4_294_967_295,
        description="Only sessions with this AS at one end (asplain 65001 or asdot 1.10); "
        "0 for any.",
    )


def _resolve(row: dict[str, Any]) -> dict[str, Any]:
    owners = sorted({o for o in row.pop("owners") or () if o is not None})
    return {**row, "remote_device": owners[0] if len(owners) == 1 else None}


def _sessions(rows: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    out = [{**_resolve(row), "_key": ip_key(row["remote_address"])} for row in rows]
    out = ordered(out, "device", "vrf", "_key")
    for row in out:
        del row["_key"]
    return out


BGP_PEERS = Query(
    name="bgp_peers",
    category="Routing",
    summary="Every BGP session with its state, ASNs, prefixes and the peer device if known.",
    params=SessionParams,
    feature="bgp_intelligence",
    cypher=_SESSIONS.format(where=_BY_DEVICE),
    post=_sessions,
)

BGP_PEERS_DOWN = Query(
    name="bgp_peers_down",
    category="Routing",
    summary="BGP sessions that are not established.",
    params=SessionParams,
    feature="bgp_intelligence",
    cypher=_SESSIONS.format(where=_BY_DEVICE + " AND p.state <> 'established'"),
    post=_sessions,
)


def _topology(rows: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    sessions = [_resolve(row) for row in rows]
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
                "_key": ip_key(s["remote_address"]),
            }
        )
    out = ordered(out, "local_device", "vrf", "_key")
    for row in out:
        del row["_key"]
    return out


BGP_TOPOLOGY = Query(
    name="bgp_topology",
    category="Routing",
    summary="The BGP graph: device to peer, with ASNs, eBGP/iBGP and whether both ends report it.",
    params=BgpTopologyParams,
    feature="bgp_intelligence",
    cypher=_SESSIONS.format(where="true"),
    post=_topology,
)

QUERIES = [BGP_PEERS, BGP_TOPOLOGY, BGP_PEERS_DOWN]
