"""NCCL / Training: the training jobs in the graph, the rank pairs each job's channels
connect (with the HCA ports and fabric cables at both ends), and the pairs and cables that
carry the most.

docs/queries.md states what each query answers; the tests pin it. Where a flow crosses the
fabric between two switches, its way is followed through the switches' unicast forwarding
tables (``ibroute``, collected by a sweep) toward the destination port's LID, cable by cable:
then ``fabric_path`` lists every switch with the ports the flow enters and leaves it by and
the path is known. Without a table on the way (or when a table leads off the cables the
graph holds, or not to the destination's switch), no spine is named as if known: the
switches cabled to both ends' switches are listed as ``spine_candidates`` and the path is
not known. Volumes are estimates from the job's nccl-tests measurement when one was
ingested, and ``None`` otherwise.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Annotated, Any, Literal

from network_discovery.model import normalise_hostname
from pydantic import AfterValidator, Field

from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, Row

__all__ = ["QUERIES"]

FEATURE = "nccl_visualization"
CATEGORY = "NCCL / Training"

_JOBS = (
    "MATCH (j:NcclJob) RETURN j.id AS id, j.name AS name, j.nranks AS nranks, j.hosts AS hosts, "
    "j.nccl_version AS nccl_version, j.comm_ids AS comm_ids, j.network AS network, "
    "j.ring_channels AS ring_channels, j.started_at AS started_at, j.ended_at AS ended_at, "
    "j.test AS test, j.test_size_bytes AS test_size_bytes, j.test_algbw_gbps AS algbw, "
    "j.test_busbw_gbps AS busbw"
)
_RANKS = (
    "MATCH (j:NcclJob)-[:HAS_RANK]->(r:NcclRank) WHERE j.id IN $ids "
    "OPTIONAL MATCH (r)-[:RANK_GPU]->(g:GPU) "
    "OPTIONAL MATCH (d:Device)-[:RUNS_RANK]->(r) "
    "RETURN j.id AS job, r.id AS id, r.rank AS rank, r.comm AS comm, r.host AS host, "
    "r.hca_ports AS hca_ports, g.id AS gpu, d.id AS device, r.host_candidates AS candidates"
)
_PORTS = (
    "MATCH (j:NcclJob)-[:HAS_RANK]->(r:NcclRank)-[h:RANK_HCA_PORT]->(p:IBPort) "
    "WHERE j.id IN $ids "
    "OPTIONAL MATCH (p)-[:IB_LINK]-(q:IBPort) "
    "OPTIONAL MATCH (s:IBNode)-[:HAS_IB_PORT]->(q) "
    "RETURN r.id AS rank_id, h.hca AS hca, p.id AS port_id, p.port_guid AS port_guid, "
    "p.port AS port, p.state AS state, p.lid AS lid, q.id AS peer_id, q.port AS peer_port, "
    "q.node_guid AS peer_guid, coalesce(s.description, q.node_description) AS peer_node, "
    "q.node_type AS peer_type"
)
_CONNECTIONS = (
    "MATCH (j:NcclJob)-[:HAS_RANK]->(a:NcclRank)-[c:NCCL_CONNECTION]->(b:NcclRank) "
    "WHERE j.id IN $ids "
    "RETURN j.id AS job, a.id AS src_id, a.rank AS src_rank, a.host AS src_host, "
    "b.id AS dst_id, b.rank AS dst_rank, b.host AS dst_host, c.channels AS channels, "
    "c.ring_channels AS ring_channels, c.transports AS transports, c.vias AS vias, "
    "c.src_hcas AS src_hcas, c.dst_hcas AS dst_hcas"
)
_UNKNOWN_SPINE = (
    "the two HCA ports hang on different switches: the switches between them are not known "
    "without the switches' forwarding tables"
)
#: The switches and their forwarding tables; the cables between switches.
_TABLES = (
    "MATCH (n:IBNode) WHERE n.node_type = 'switch' "
    "RETURN n.guid AS guid, n.description AS name, n.route_lids AS lids, n.route_ports AS ports"
)
_TRUNKS = (
    "MATCH (a:IBPort)-[:IB_LINK]-(b:IBPort) "
    "WHERE a.node_type = 'switch' AND b.node_type = 'switch' "
    "RETURN a.node_guid AS a, a.port AS a_port, a.state AS a_state, "
    "b.node_guid AS b, b.port AS b_port"
)
#: Switches a route may cross before it is taken for a loop.
_MAX_HOPS = 16

JobFilter = Annotated[
    str,
    Field(
        default="",
        max_length=128,
        pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="Only this job (its id as given at ingest, case-insensitive); empty for "
        "every job.",
        examples=["train-42"],
    ),
]
RequiredJob = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="The job (its id as given at ingest, case-insensitive).",
        examples=["train-42"],
    ),
]
HostFilter = Annotated[
    str,
    Field(
        default="",
        max_length=255,
        description="Only what runs on this host (case-insensitive); empty for every host.",
        examples=["gpu-node-01"],
    ),
    AfterValidator(lambda v: normalise_hostname(v) if v else v),
]
Transport = Literal["net", "p2p", "shm", "collnet", "nvls", "unknown"]
PathKind = Literal["in_host", "same_switch", "across_switches", "unknown"]


class JobsParams(Params):
    job_id: JobFilter
    host: HostFilter


class FlowsParams(Params):
    job_id: RequiredJob
    host: HostFilter
    transport: Transport | Literal[""] = Field(
        "", description="Only connections over this transport (net: the network); empty for any."
    )


class TalkersParams(Params):
    job_id: JobFilter
    by: Literal["hca", "host", "rank"] = Field(
        "hca",
        description="Pairs of HCA ports (hca), of hosts (host) or of ranks (rank).",
    )


class Measurement(Row):
    """The nccl-tests row the volumes are estimated from (the largest size measured)."""

    test: str | None
    size_bytes: int
    algbw_gbps: float = Field(description="GB/s, as nccl-tests reports it.")
    busbw_gbps: float = Field(description="GB/s, as nccl-tests reports it.")


class NcclJobRow(Row):
    """One training job: its ranks, hosts, GPUs and HCA ports, NCCL version and window."""

    job_id: str
    name: str | None
    nccl_version: str | None
    network: str | None = Field(description="IB, Socket, or a network plugin's name.")
    nranks: int | None = Field(description="The largest communicator's size.")
    ranks: int = Field(description="Ranks in the graph, over all the job's communicators.")
    communicators: list[str] = Field(description="NCCL's commId of each communicator.")
    hosts: list[str]
    devices: list[str] = Field(
        description="The graph's devices the ranks' hosts are (the Ethernet/IP graph's)."
    )
    hosts_ambiguous: dict[str, list[str]] = Field(
        description="Hosts whose name could be several devices of the graph, with those "
        "devices: their ranks are tied to none."
    )
    gpus: list[str] = Field(description="The GPUs the ranks ran on (GPU ids), where known.")
    ranks_without_gpu: int = Field(description="Ranks whose GPU the graph does not hold.")
    hca_ports: list[str] = Field(description="'<host> <device>:<port>' of every HCA port used.")
    hca_ports_in_fabric: int = Field(description="Of those, the ports the fabric view holds.")
    connections: dict[str, int] = Field(description="Rank pairs connected, by transport.")
    started_at: str | None
    ended_at: str | None
    measurement: Measurement | None


class FabricEnd(Row):
    """One end of a flow in the fabric: the HCA port and the switch port it is cabled to."""

    hca: str = Field(description="device:port, as NCCL named it.")
    port_guid: str | None
    lid: int | None = Field(description="The HCA port's LID (what switches forward by).")
    state: str | None
    switch: str | None = Field(description="The node the HCA port is cabled to.")
    switch_guid: str | None
    switch_port: int | None
    link: str | None = Field(
        description="The cable, as '<HCA port GUID>/<port> - <switch>/<port>'; None when the "
        "fabric view knows none on this port."
    )


class PathHop(Row):
    """A switch on a flow's way through the fabric, with the ports it enters and leaves by."""

    switch: str | None = Field(description="The switch's node description.")
    switch_guid: str
    in_port: int | None = Field(description="The port the flow enters by.")
    out_port: int | None = Field(description="The port the flow leaves by.")


class NcclFlowRow(Row):
    """One rank pair of a job: src sends to dst over the listed channels."""

    job_id: str
    src_rank: int
    src_host: str | None
    src_gpu: str | None
    dst_rank: int
    dst_host: str | None
    dst_gpu: str | None
    transports: list[Transport]
    via: list[str]
    channels: list[int]
    ring_channels: list[int] = Field(description="Channels whose ring has this pair.")
    src_end: list[FabricEnd]
    dst_end: list[FabricEnd]
    fabric_links: list[str] = Field(
        description="The cables the flow enters and leaves the fabric by, as "
        "'<HCA port GUID>/<port> - <switch>/<port>'."
    )
    path: PathKind
    path_known: bool = Field(description="Whether every cable and switch on the way is known.")
    path_note: str | None
    fabric_path: list[PathHop] = Field(
        description="The switches the flow crosses, in order (leaf, spine, leaf), when known: "
        "one switch when both ends hang on it, else as the switches' forwarding tables route "
        "toward the destination's LID; empty when not known."
    )
    spine_candidates: list[str] = Field(
        description="When the path across switches is not known: the switches cabled to both "
        "ends' switches, one of which a two-tier fat tree would use (not known which)."
    )
    est_gb_per_s: float | None = Field(
        description="Estimated rate (GB/s): nccl-tests' bus bandwidth times the share of the "
        "job's rings that use this pair; None without a measurement or for non-ring pairs."
    )
    est_bytes_per_op: int | None = Field(
        description="Estimated bytes this pair carries per collective of the measured size."
    )


class LinkLoad(Row):
    """A cable at the edge of the fabric and the flows on it, in one direction."""

    link: str
    direction: Literal["to_fabric", "from_fabric", "between_switches"] = Field(
        description="to_fabric: from the HCA into its switch; from_fabric: the other way; "
        "between_switches: a cable between two switches, in the direction named, on a path "
        "known from the forwarding tables."
    )
    est_gb_per_s: float | None = Field(description="Every selected flow on this cable, summed.")
    flows: int


class TalkerRow(Row):
    """A pair (of HCA ports, hosts or ranks) by the traffic between them."""

    src: str
    dst: str
    jobs: list[str]
    rank_pairs: int
    channels: int = Field(description="Channel connections between the pair, summed.")
    est_gb_per_s: float | None
    est_bytes_per_op: int | None
    links: list[LinkLoad] = Field(
        description="The fabric cables the pair's traffic crosses, the most loaded first."
    )


# --- reading --------------------------------------------------------------------------


async def _jobs(ctx: QueryContext, job_id: str) -> dict[str, dict[str, Any]]:
    rows = await ctx.store.execute(_JOBS, {})
    want = job_id.lower()
    return {r["id"]: r for r in rows if not want or r["id"].lower() == want}


def _measurement(job: dict[str, Any]) -> dict[str, Any] | None:
    if job.get("busbw") is None or not job.get("algbw") or job.get("test_size_bytes") is None:
        return None
    return {
        "test": job["test"],
        "size_bytes": job["test_size_bytes"],
        "algbw_gbps": job["algbw"],
        "busbw_gbps": job["busbw"],
    }


def _link_name(end: dict[str, Any]) -> str | None:
    if end.get("peer_id") is None:
        return None
    far = end["peer_node"] or end["peer_guid"]
    return f"{end['port_guid']}/{end['port']} - {far}/{end['peer_port']}"


class _Fabric:
    """The switches' forwarding tables and the cables between switches, read once a query
    has a flow across switches."""

    def __init__(self, tables: list[dict[str, Any]], trunks: list[dict[str, Any]]) -> None:
        self.names: dict[str, str | None] = {}
        self.routes: dict[str, dict[int, int]] = {}
        for row in tables:
            self.names[row["guid"]] = row["name"]
            lids, ports = row["lids"] or [], row["ports"] or []
            if lids and len(lids) == len(ports):
                self.routes[row["guid"]] = dict(zip(lids, ports, strict=True))
        #: (switch, port) -> (switch, port) at the cable's other end, and whether it is up
        self.cables: dict[tuple[str, int], tuple[str, int, bool]] = {}
        #: switch -> switches cabled to it (up)
        self.neighbours: dict[str, set[str]] = defaultdict(set)
        for row in trunks:
            up = row["a_state"] != "down"
            self.cables[(row["a"], row["a_port"])] = (row["b"], row["b_port"], up)
            if up:
                self.neighbours[row["a"]].add(row["b"])

    def route(
        self, src: dict[str, Any], dst: dict[str, Any]
    ) -> tuple[list[dict[str, Any]] | None, str | None]:
        """The switches from ``src``'s switch to ``dst``'s (both ends), as the forwarding
        tables send a packet to ``dst``'s LID; None and why when they do not tell."""
        lid, first, last = dst.get("lid"), src["switch_guid"], dst["switch_guid"]
        if not lid:
            return None, "the destination port's LID is not known"
        hops: list[dict[str, Any]] = []
        here, entered = first, src["switch_port"]
        for _ in range(_MAX_HOPS):
            name = self.names.get(here) or here
            table = self.routes.get(here)
            if table is None:
                return None, f"no forwarding table of {name} was collected"
            out = table.get(lid)
            if out is None:
                return None, f"{name}'s forwarding table has no route to LID {lid}"
            hops.append(
                {
                    "switch": self.names.get(here),
                    "switch_guid": here,
                    "in_port": entered,
                    "out_port": out,
                }
            )
            if here == last:
                if out != dst["switch_port"]:
                    return None, (
                        f"{name} forwards LID {lid} by port {out}, not the port "
                        f"{dst['switch_port']} the destination is cabled to"
                    )
                return hops, None
            cable = self.cables.get((here, out))
            if cable is None:
                return None, f"{name} forwards LID {lid} by port {out}: no cable known there"
            if not cable[2]:
                return None, f"{name} forwards LID {lid} by port {out}, which is down"
            here, entered = cable[0], cable[1]
            if any(h["switch_guid"] == here for h in hops):
                return None, f"the forwarding tables loop at {self.names.get(here) or here}"
        return None, f"no arrival within {_MAX_HOPS} switches"

    def candidates(self, a: str, b: str) -> list[str]:
        """Switches cabled to both ``a`` and ``b`` (their names, else GUIDs)."""
        both = (self.neighbours.get(a, set()) & self.neighbours.get(b, set())) - {a, b}
        return sorted(self.names.get(g) or g for g in both)


def _across(src_end: list[dict[str, Any]], dst_end: list[dict[str, Any]]) -> bool:
    switches = {e["switch_guid"] for e in (*src_end, *dst_end)}
    return bool(src_end and dst_end) and None not in switches and len(switches) > 1


async def _flows(ctx: QueryContext, jobs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every connected rank pair of ``jobs``, with both fabric ends and the estimates."""
    ids = sorted(jobs)
    gpus: dict[str, str | None] = {}
    for row in await ctx.store.execute(_RANKS, {"ids": ids}):
        gpus[row["id"]] = row["gpu"]
    ends: dict[tuple[str, str], dict[str, Any]] = {}
    for row in await ctx.store.execute(_PORTS, {"ids": ids}):
        ends[(row["rank_id"], row["hca"])] = row
    connections = list(map(_listed, await ctx.store.execute(_CONNECTIONS, {"ids": ids})))
    fabric: _Fabric | None = None
    out = []
    for row in connections:
        job = jobs[row["job"]]
        src_end = [_end(ends.get((row["src_id"], h)), h) for h in row["src_hcas"] or []]
        dst_end = [_end(ends.get((row["dst_id"], h)), h) for h in row["dst_hcas"] or []]
        links = sorted({e["link"] for e in (*src_end, *dst_end) if e["link"] is not None})
        transports = sorted(row["transports"] or [])
        path, known, note = _path(row, transports, src_end, dst_end)
        hops: list[dict[str, Any]] = []
        spines: list[str] = []
        if path == "same_switch":
            hops = [_hop(src_end[0], dst_end[0])] if len(src_end) == len(dst_end) == 1 else []
        elif path == "across_switches" and _across(src_end, dst_end):
            if fabric is None:
                fabric = _Fabric(
                    await ctx.store.execute(_TABLES, {}), await ctx.store.execute(_TRUNKS, {})
                )
            hops, note, known, spines = _walk(fabric, src_end, dst_end)
        rate, per_op = _estimate(job, row)
        out.append(
            {
                "job_id": row["job"],
                "src_rank": row["src_rank"],
                "src_host": row["src_host"],
                "src_gpu": gpus.get(row["src_id"]),
                "dst_rank": row["dst_rank"],
                "dst_host": row["dst_host"],
                "dst_gpu": gpus.get(row["dst_id"]),
                "transports": transports,
                "via": sorted(row["vias"] or []),
                "channels": sorted(row["channels"] or []),
                "ring_channels": sorted(row["ring_channels"] or []),
                "src_end": src_end,
                "dst_end": dst_end,
                "fabric_links": links,
                "path": path,
                "path_known": known,
                "path_note": note,
                "fabric_path": hops,
                "spine_candidates": spines,
                "est_gb_per_s": rate,
                "est_bytes_per_op": per_op,
            }
        )
    out.sort(key=lambda f: (f["job_id"], f["src_rank"], f["dst_rank"]))
    return out


_LISTED = ("channels", "ring_channels", "transports", "vias", "src_hcas", "dst_hcas")


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    """A connection row with its comma-separated lists as lists (channels as numbers)."""
    out = dict(row)
    for key in _LISTED:
        items = [v for v in (row.get(key) or "").split(",") if v]
        out[key] = [int(v) for v in items] if key.endswith("channels") else items
    return out


def _end(row: dict[str, Any] | None, hca: str) -> dict[str, Any]:
    row = row or {}
    return {
        "hca": hca,
        "port_guid": row.get("port_guid"),
        "lid": row.get("lid") or None,
        "state": row.get("state"),
        "switch": row.get("peer_node"),
        "switch_guid": row.get("peer_guid"),
        "switch_port": row.get("peer_port"),
        "link": _link_name(row),
    }


def _path(
    row: dict[str, Any],
    transports: list[str],
    src_end: list[dict[str, Any]],
    dst_end: list[dict[str, Any]],
) -> tuple[str, bool, str | None]:
    if "net" not in transports:
        if row["src_host"] is not None and row["src_host"] == row["dst_host"]:
            return "in_host", True, None
        return "unknown", False, "the transport does not say how the pair is connected"
    switches = {e["switch_guid"] for e in (*src_end, *dst_end)}
    if not src_end or not dst_end or None in switches:
        return "unknown", False, "an HCA port of the pair is not cabled in the fabric view"
    if len(switches) == 1:
        return "same_switch", True, None
    return "across_switches", False, _UNKNOWN_SPINE


def _hop(src: dict[str, Any], dst: dict[str, Any]) -> dict[str, Any]:
    return {
        "switch": src["switch"],
        "switch_guid": src["switch_guid"],
        "in_port": src["switch_port"],
        "out_port": dst["switch_port"],
    }


def _walk(
    fabric: _Fabric, src_end: list[dict[str, Any]], dst_end: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str | None, bool, list[str]]:
    """The hops of a flow across switches, its note, whether known, and the candidate spines
    when not. A flow over several HCA ports at an end is not routed (which port pairs with
    which is not known)."""
    if len(src_end) != 1 or len(dst_end) != 1:
        note = "the flow uses several HCA ports at an end: which pairs with which is not known"
        return [], note, False, []
    src, dst = src_end[0], dst_end[0]
    hops, why = fabric.route(src, dst)
    if hops is not None:
        return hops, None, True, []
    spines = fabric.candidates(src["switch_guid"], dst["switch_guid"])
    note = f"{_UNKNOWN_SPINE} ({why})"
    if spines:
        note += "; the switches cabled to both are listed as candidates"
    return [], note, False, spines


def _estimate(job: dict[str, Any], row: dict[str, Any]) -> tuple[float | None, int | None]:
    """Ring traffic from the measurement: each of a job's R rings carries 1/R of the data,
    and every ring hop carries the collective's bus factor (busbw / algbw) times it."""
    measured = _measurement(job)
    rings = job.get("ring_channels") or 0
    share = len(row["ring_channels"] or []) / rings if rings else 0.0
    if measured is None or not share:
        return None, None
    rate = round(measured["busbw_gbps"] * share, 6)
    per_op = round(measured["size_bytes"] * measured["busbw_gbps"] / measured["algbw_gbps"] * share)
    return rate, per_op


# --- queries --------------------------------------------------------------------------


async def _nccl_jobs(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    jobs = await _jobs(ctx, params.job_id)
    if not jobs:
        return []
    ranks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in await ctx.store.execute(_RANKS, {"ids": sorted(jobs)}):
        ranks[row["job"]].append(row)
    in_fabric = {
        (row["rank_id"], row["hca"])
        for row in await ctx.store.execute(_PORTS, {"ids": sorted(jobs)})
    }
    kinds: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in map(_listed, await ctx.store.execute(_CONNECTIONS, {"ids": sorted(jobs)})):
        for t in row["transports"]:
            kinds[row["job"]][t] += 1
    out = []
    for job_id, job in jobs.items():
        mine = ranks.get(job_id, [])
        hosts = sorted({r["host"] for r in mine if r["host"]} | set(job["hosts"] or []))
        if params.host and params.host not in hosts:
            continue
        ports = sorted({f"{r['host']} {p}" for r in mine for p in r["hca_ports"] or []})
        fabric_ports = {
            f"{r['host']} {p}"
            for r in mine
            for p in r["hca_ports"] or []
            if (r["id"], p) in in_fabric
        }
        out.append(
            {
                "job_id": job_id,
                "name": job["name"],
                "nccl_version": job["nccl_version"],
                "network": job["network"],
                "nranks": job["nranks"],
                "ranks": len(mine),
                "communicators": sorted(job["comm_ids"] or []),
                "hosts": hosts,
                "devices": sorted({r["device"] for r in mine if r["device"]}),
                "hosts_ambiguous": {
                    r["host"]: sorted(r["candidates"])
                    for r in sorted(mine, key=lambda r: r["host"] or "")
                    if r["host"] and len(r["candidates"] or []) > 1
                },
                "gpus": sorted({r["gpu"] for r in mine if r["gpu"]}),
                "ranks_without_gpu": sum(1 for r in mine if not r["gpu"]),
                "hca_ports": ports,
                "hca_ports_in_fabric": len(fabric_ports),
                "connections": dict(sorted(kinds[job_id].items())),
                "started_at": job["started_at"],
                "ended_at": job["ended_at"],
                "measurement": _measurement(job),
            }
        )
    return sorted(out, key=lambda j: (j["started_at"] or "", j["job_id"]))


async def _nccl_flows(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    jobs = await _jobs(ctx, params.job_id)
    if not jobs:
        return []
    flows = await _flows(ctx, jobs)
    return [
        f
        for f in flows
        if (not params.transport or params.transport in f["transports"])
        and (not params.host or params.host in (f["src_host"], f["dst_host"]))
    ]


def _side(flow: dict[str, Any], end: str, by: str) -> list[str]:
    host = flow[f"{end}_host"] or "?"
    if by == "host":
        return [host]
    if by == "rank":
        return [f"{flow['job_id']} rank {flow[f'{end}_rank']}"]
    return [f"{host} {e['hca']}" for e in flow[f"{end}_end"]] or [f"{host} ?"]


def _sum(values: list[float | None]) -> float | None:
    """The sum of the known values; None when none is known."""
    known = [v for v in values if v is not None]
    return round(sum(known), 6) if known else None


async def _top_talkers(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    jobs = await _jobs(ctx, params.job_id)
    if not jobs:
        return []
    flows = [f for f in await _flows(ctx, jobs) if "net" in f["transports"]]
    loads: dict[tuple[str, str], list[float | None]] = defaultdict(list)

    def edges(flow: dict[str, Any]) -> set[tuple[str, str]]:
        inner = (
            {  # the cables between the switches of a known path, in the flow's direction
                (
                    f"{a['switch'] or a['switch_guid']}/{a['out_port']} - "
                    f"{b['switch'] or b['switch_guid']}/{b['in_port']}",
                    "between_switches",
                )
                for a, b in itertools.pairwise(flow["fabric_path"])
            }
            if flow["path_known"]
            else set()
        )
        return (
            {(e["link"], "to_fabric") for e in flow["src_end"] if e["link"]}
            | {(e["link"], "from_fabric") for e in flow["dst_end"] if e["link"]}
            | inner
        )

    for flow in flows:
        for edge in edges(flow):
            loads[edge].append(flow["est_gb_per_s"])
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for flow in flows:
        for src in _side(flow, "src", params.by):
            for dst in _side(flow, "dst", params.by):
                pair = pairs.setdefault(
                    (src, dst),
                    {
                        "jobs": set(),
                        "ranks": set(),
                        "channels": 0,
                        "rates": [],
                        "ops": [],
                        "links": set(),
                    },
                )
                pair["jobs"].add(flow["job_id"])
                pair["ranks"].add((flow["job_id"], flow["src_rank"], flow["dst_rank"]))
                pair["channels"] += len(flow["channels"])
                pair["rates"].append(flow["est_gb_per_s"])
                pair["ops"].append(flow["est_bytes_per_op"])
                pair["links"].update(edges(flow))
    out = []
    for (src, dst), pair in pairs.items():
        ops = [o for o in pair["ops"] if o is not None]
        links = [
            {
                "link": link,
                "direction": direction,
                "est_gb_per_s": _sum(loads[(link, direction)]),
                "flows": len(loads[(link, direction)]),
            }
            for link, direction in pair["links"]
        ]
        links.sort(
            key=lambda x: (-(x["est_gb_per_s"] or 0.0), -x["flows"], x["link"], x["direction"])
        )
        out.append(
            {
                "src": src,
                "dst": dst,
                "jobs": sorted(pair["jobs"]),
                "rank_pairs": len(pair["ranks"]),
                "channels": pair["channels"],
                "est_gb_per_s": _sum(pair["rates"]),
                "est_bytes_per_op": sum(ops) if ops else None,
                "links": links,
            }
        )
    out.sort(
        key=lambda r: (
            r["est_gb_per_s"] is None,
            -(r["est_gb_per_s"] or 0.0),
            -r["channels"],
            r["src"],
            r["dst"],
        )
    )
    return out


NCCL_JOBS = Query(
    name="nccl_jobs",
    category=CATEGORY,
    summary="NCCL training jobs: ranks, hosts, the GPUs and HCA ports they ran on, NCCL "
    "version, window, and the nccl-tests measurement when one was ingested.",
    params=JobsParams,
    row=NcclJobRow,
    feature=FEATURE,
    run=_nccl_jobs,
)
NCCL_FLOWS_BY_JOB = Query(
    name="nccl_flows_by_job",
    category=CATEGORY,
    summary="A job's connected rank pairs: transport, channels, the HCA port and switch "
    "port at each end, the fabric cables used, whether the path is known, and estimated "
    "volume.",
    params=FlowsParams,
    row=NcclFlowRow,
    feature=FEATURE,
    run=_nccl_flows,
)
NCCL_TOP_TALKERS = Query(
    name="nccl_top_talkers",
    category=CATEGORY,
    summary="Pairs of HCA ports, hosts or ranks by the network traffic between them, with "
    "the fabric cables that traffic loads most.",
    params=TalkersParams,
    row=TalkerRow,
    feature=FEATURE,
    run=_top_talkers,
)

QUERIES = [NCCL_JOBS, NCCL_FLOWS_BY_JOB, NCCL_TOP_TALKERS]
