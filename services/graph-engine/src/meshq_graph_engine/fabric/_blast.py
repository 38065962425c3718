"""Blast radius over the InfiniBand fabric: what a failing switch or port takes down.

The fabric as the graph holds it (:class:`FabricGraph`: from a projection, or read from the
store with :func:`load_fabric`) and one failing element, a switch (by node GUID, or by name:
its node description or the system name of a managed switch's description) or a port
(``<port GUID>|<number>``). :func:`fabric_blast` answers:

- **HCA ports lost**: a host adapter's port whose cable was up and now leads nowhere: its
  cable is the failed port's, it is cabled to the failed switch, or the switch it is cabled to
  is cut off from the rest of the fabric. The rest of the fabric is the connected part of
  the switches (over their cables that are up) that reaches the most adapter ports; channel
  adapters never forward, so a dual-ported adapter joins nothing.
- **Hosts**: ``cut`` when every port of its adapters that was up is lost (all its cables went
  through the failed element), ``degraded`` when some are.
- **GPUs** of those hosts: ``cut`` on a cut host; ``degraded`` when the adapter nearest to
  the GPU (``nvidia-smi topo -m``) lost its port, or, with no affinity known, when its host
  is degraded (its traffic moves to farther adapters).
- **NCCL jobs**: ``interrupted`` when a rank used a lost port or ran on a cut host (NCCL
  does not move a connection to another adapter); ``degraded`` when a rank whose adapter
  ports are not known runs on a degraded host, or the job's network connections cross
  switches and the failure took down cables between switches (which of them carried the
  job's traffic is not known without the switches' forwarding tables: the answer says so).

A port down before the failure is not counted as lost by it. Nothing is guessed: a host name
the fabric does not give is left out, and so are GPUs and ranks of hosts the fabric has no
adapter for.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from network_discovery.model.fabric import normalise_guid

from meshq_graph_engine.projection import NODE_PROPS, NodeRow, RelKey, RelRow

__all__ = [
    "FabricBlast",
    "FabricElementError",
    "FabricGraph",
    "fabric_blast",
    "load_fabric",
]

_MELLANOX_NAME = re.compile(r"^MF0;([^:]+):")
_GUID = re.compile(r"^(?:0x)?[0-9a-fA-F]{1,16}$")
_PORT_ID = re.compile(r"^(?P<guid>(?:0x)?[0-9a-fA-F]{1,16})\|(?P<port>\d{1,3})$")
#: Names listed in an ambiguous-name error, at most.
_MAX_NAMED = 10


class FabricElementError(ValueError):
    """The failing element names no switch or port of the fabric, or several."""


class FabricElementMissing(FabricElementError):
    """The failing element names nothing the fabric holds (a well-formed name)."""


@dataclass(frozen=True)
class _Node:
    node_type: str | None
    description: str | None
    host: str | None
    ca_name: str | None


@dataclass(frozen=True)
class _Port:
    node: str  # the owning node's GUID (the port's own id when no node is known)
    node_type: str | None
    port: int
    host: str | None
    up: bool  # not down, not disabled


@dataclass
class FabricGraph:
    """What the blast radius reads: nodes, ports, cables, GPUs and NCCL ranks."""

    nodes: dict[str, _Node] = field(default_factory=dict)
    ports: dict[str, _Port] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)
    #: GPU id -> (host, node GUIDs of its nearest adapters)
    gpus: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    #: rank id -> (job id, host, port ids its connections used)
    ranks: dict[str, tuple[str, str | None, tuple[str, ...]]] = field(default_factory=dict)

    def add_port(self, port_id: str, row: Mapping[str, Any], owner: str | None) -> None:
        state, phys = row.get("state"), row.get("phys_state")
        self.ports[port_id] = _Port(
            node=owner or row.get("node_guid") or port_id,
            node_type=row.get("node_type"),
            port=int(row.get("port") or 0),
            host=row.get("host"),
            up=state != "down" and phys != "disabled",
        )

    @classmethod
    def from_rows(
        cls,
        nodes: Mapping[str, Mapping[str, NodeRow]],
        rels: Mapping[str, Mapping[RelKey, RelRow]],
    ) -> FabricGraph:
        """The fabric of a projection's rows (``Projection.nodes``, ``Projection.rels``)."""
        graph = cls()

        def rows(label: str) -> Iterable[tuple[str, dict[str, Any]]]:
            props = NODE_PROPS[label]
            for node_id, row in nodes.get(label, {}).items():
                yield node_id, dict(zip(props, row, strict=True))

        for guid, row in rows("IBNode"):
            graph.nodes[guid] = _Node(
                row["node_type"], row["description"], row["host"], row["ca_name"]
            )
        owner = {port: node for node, port in rels.get("HAS_IB_PORT", {})}
        for port_id, row in rows("IBPort"):
            graph.add_port(port_id, row, owner.get(port_id))
        graph.links = list(rels.get("IB_LINK", {}))
        near: dict[str, list[str]] = defaultdict(list)
        for gpu, guid in rels.get("NEAR_HCA", {}):
            near[gpu].append(guid)
        for gpu_id, row in rows("GPU"):
            graph.gpus[gpu_id] = (row["host"], tuple(sorted(near.get(gpu_id, ()))))
        used: dict[str, list[str]] = defaultdict(list)
        for rank, port in rels.get("RANK_HCA_PORT", {}):
            used[rank].append(port)
        for rank_id, row in rows("NcclRank"):
            graph.ranks[rank_id] = (row["job_id"], row["host"], tuple(sorted(used[rank_id])))
        return graph


async def load_fabric(store: Any) -> FabricGraph:
    """The fabric as the graph store holds it (any ``GraphStore``: parameters only)."""
    graph = FabricGraph()
    for row in await store.execute(
        "MATCH (n:IBNode) RETURN n.id AS id, n.node_type AS node_type, "
        "n.description AS description, n.host AS host, n.ca_name AS ca_name",
        {},
    ):
        graph.nodes[row["id"]] = _Node(
            row["node_type"], row["description"], row["host"], row["ca_name"]
        )
    for row in await store.execute(
        "MATCH (p:IBPort) OPTIONAL MATCH (n:IBNode)-[:HAS_IB_PORT]->(p) "
        "RETURN p.id AS id, p.node_guid AS node_guid, p.node_type AS node_type, p.port AS port, "
        "p.host AS host, p.state AS state, p.phys_state AS phys_state, n.id AS owner",
        {},
    ):
        graph.add_port(row["id"], row, row["owner"])
    graph.links = [
        (row["a"], row["b"])
        for row in await store.execute(
            "MATCH (a:IBPort)-[:IB_LINK]->(b:IBPort) RETURN a.id AS a, b.id AS b", {}
        )
    ]
    near: dict[str, list[str]] = defaultdict(list)
    hosts: dict[str, str] = {}
    for row in await store.execute(
        "MATCH (g:GPU) OPTIONAL MATCH (g)-[:NEAR_HCA]->(n:IBNode) "
        "RETURN g.id AS id, g.host AS host, n.id AS hca",
        {},
    ):
        hosts[row["id"]] = row["host"]
        if row["hca"] is not None:
            near[row["id"]].append(row["hca"])
    graph.gpus = {g: (h, tuple(sorted(near.get(g, ())))) for g, h in hosts.items()}
    used: dict[str, list[str]] = defaultdict(list)
    ranks: dict[str, tuple[str, str | None]] = {}
    for row in await store.execute(
        "MATCH (r:NcclRank) OPTIONAL MATCH (r)-[:RANK_HCA_PORT]->(p:IBPort) "
        "RETURN r.id AS id, r.job_id AS job, r.host AS host, p.id AS port",
        {},
    ):
        ranks[row["id"]] = (row["job"], row["host"])
        if row["port"] is not None:
            used[row["id"]].append(row["port"])
    graph.ranks = {r: (j, h, tuple(sorted(used.get(r, ())))) for r, (j, h) in ranks.items()}
    return graph


# --- the answer ------------------------------------------------------------------------

HostStatus = Literal["cut", "degraded"]
JobStatus = Literal["interrupted", "degraded"]


@dataclass(frozen=True)
class HostImpact:
    host: str
    status: HostStatus
    ports_lost: tuple[str, ...]  # "<adapter>:<port>" (or the port id where unnamed)
    ports_up_before: int


@dataclass(frozen=True)
class GpuImpact:
    gpu: str
    host: str
    status: HostStatus
    reason: str


@dataclass(frozen=True)
class JobImpact:
    job_id: str
    status: JobStatus
    ranks: tuple[str, ...]  # the ranks on lost ports or affected hosts
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class FabricBlast:
    """What failing ``element`` takes down (see the module's rules)."""

    element: str
    kind: Literal["switch", "port"]
    name: str | None
    hca_ports_lost: tuple[str, ...]
    switches_cut_off: tuple[str, ...]
    switch_links_lost: int
    hosts: tuple[HostImpact, ...]
    gpus: tuple[GpuImpact, ...]
    jobs: tuple[JobImpact, ...]
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "element": self.element,
            "kind": self.kind,
            "name": self.name,
            "hca_ports_lost": list(self.hca_ports_lost),
            "switches_cut_off": list(self.switches_cut_off),
            "switch_links_lost": self.switch_links_lost,
            "hosts": [h.__dict__ | {"ports_lost": list(h.ports_lost)} for h in self.hosts],
            "gpus": [g.__dict__.copy() for g in self.gpus],
            "jobs": [
                j.__dict__ | {"ranks": list(j.ranks), "reasons": list(j.reasons)} for j in self.jobs
            ],
            "notes": list(self.notes),
        }


def _short(host: str | None) -> str | None:
    return None if not host else host.split(".", 1)[0].lower()


def _switch_named(graph: FabricGraph, name: str) -> str:
    if _GUID.match(name):
        try:
            guid = str(normalise_guid(name))
        except ValueError:
            guid = ""
        if graph.nodes.get(guid) is not None and graph.nodes[guid].node_type == "switch":
            return guid
    want = name.lower()
    found = []
    for guid, node in graph.nodes.items():
        if node.node_type != "switch":
            continue
        desc = node.description or ""
        system = _MELLANOX_NAME.match(desc)
        if desc.lower() == want or (system is not None and system.group(1).lower() == want):
            found.append(guid)
    if len(found) == 1:
        return found[0]
    if not found:
        raise FabricElementMissing(f"no switch of the fabric is named {name!r}")
    named = ", ".join(sorted(found)[:_MAX_NAMED])
    raise FabricElementError(f"{len(found)} switches are named {name!r}: {named}")


def _resolve(graph: FabricGraph, element: str) -> tuple[Literal["switch", "port"], str]:
    text = element.strip()
    if not text or len(text) > 256:
        raise FabricElementError("name a switch (GUID or name) or a port (<port GUID>|<number>)")
    port = _PORT_ID.match(text)
    if port is not None:
        try:
            port_id = f"{normalise_guid(port['guid'])}|{int(port['port'])}"
        except ValueError as exc:
            raise FabricElementError(f"not a port GUID: {port['guid']!r}") from exc
        if port_id not in graph.ports:
            raise FabricElementMissing(f"no port {port_id} in the fabric")
        return "port", port_id
    return "switch", _switch_named(graph, text)


def _components(switches: Iterable[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Switch GUID -> its connected component's number (union-find), components numbered
    in the order of their smallest GUIDs."""
    parent = {s: s for s in sorted(switches)}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots: dict[str, int] = {}
    return {s: roots.setdefault(find(s), len(roots)) for s in parent}


def _main(component: Mapping[str, int], attached: Iterable[tuple[str, str]]) -> int | None:
    """The component holding the most adapter ports (``attached``: (adapter port, switch)),
    the first-numbered of equals; None when no adapter port is attached."""
    reach: dict[int, int] = defaultdict(int)
    for _, switch in attached:
        if switch in component:
            reach[component[switch]] += 1
    return max(reach, key=lambda c: (reach[c], -c)) if reach else None


def fabric_blast(graph: FabricGraph, element: str) -> FabricBlast:
    """What failing ``element`` (a switch or a port) takes down in ``graph``.

    Raises :class:`FabricElementError` when the element names nothing in the fabric or,
    for a switch name, several switches."""
    kind, failed = _resolve(graph, element)
    ports = graph.ports
    is_switch = {g for g, n in graph.nodes.items() if n.node_type == "switch"}
    for port in ports.values():  # switches seen only through their ports
        if port.node_type == "switch":
            is_switch.add(port.node)

    def live(a: str, b: str) -> bool:
        pa, pb = ports.get(a), ports.get(b)
        return pa is not None and pb is not None and pa.up and pb.up

    def failed_link(a: str, b: str) -> bool:
        if kind == "port":
            return failed in (a, b)
        return failed in (ports[a].node, ports[b].node)

    # cables up before the failure: switch-switch (the core) and adapter-switch (the edge)
    core_before, core_after = [], []
    edge: dict[str, tuple[str, str]] = {}  # adapter port -> (switch GUID, the cable's port)
    for a, b in graph.links:
        if not live(a, b):
            continue
        na, nb = ports[a].node, ports[b].node
        if na in is_switch and nb in is_switch:
            core_before.append((na, nb))
            if not failed_link(a, b):
                core_after.append((na, nb))
        elif na in is_switch or nb in is_switch:
            ca, sw, sw_port = (b, na, a) if na in is_switch else (a, nb, b)
            edge[ca] = (sw, sw_port)
    # before: the adapter ports that reached the main part of the fabric
    before = _components(is_switch, core_before)
    main_before = _main(before, ((ca, sw) for ca, (sw, _) in edge.items()))
    edge = {ca: end for ca, end in edge.items() if before[end[0]] == main_before}
    switches = set(is_switch)
    if kind == "switch":
        switches.discard(failed)
    component = _components(switches, core_after)
    main = _main(
        component,
        ((ca, sw) for ca, (sw, sw_port) in edge.items() if not failed_link(ca, sw_port)),
    )

    lost: list[str] = []
    for ca, (sw, sw_port) in sorted(edge.items()):
        if failed_link(ca, sw_port) or sw not in component or component[sw] != main:
            lost.append(ca)
    lost_set = set(lost)
    cut_off = sorted(
        s for s in switches if main is not None and component[s] != main and s in component
    )
    links_lost = len(core_before) - len(core_after)

    # hosts: their adapters' ports that were up
    by_host: dict[str, list[str]] = defaultdict(list)
    for ca in edge:
        host = ports[ca].host or graph.nodes.get(ports[ca].node, _Node(None, None, None, None)).host
        if host:
            by_host[_short(host) or ""].append(ca)

    def port_name(port_id: str) -> str:
        node = graph.nodes.get(ports[port_id].node)
        if node is not None and node.ca_name:
            return f"{node.ca_name}:{ports[port_id].port}"
        return port_id

    hosts: dict[str, HostImpact] = {}
    for host, mine in sorted(by_host.items()):
        gone = sorted(port_name(p) for p in mine if p in lost_set)
        if gone:
            status: HostStatus = "cut" if len(gone) == len(mine) else "degraded"
            hosts[host] = HostImpact(host, status, tuple(gone), len(mine))

    lost_nodes = {ports[p].node for p in lost}
    gpus: list[GpuImpact] = []
    for gpu_id, (gpu_host, near) in sorted(graph.gpus.items()):
        impact = hosts.get(_short(gpu_host) or "")
        if impact is None:
            continue
        if impact.status == "cut":
            gpus.append(GpuImpact(gpu_id, gpu_host, "cut", "every adapter port of its host lost"))
        elif near and all(n in lost_nodes for n in near):
            gpus.append(
                GpuImpact(gpu_id, gpu_host, "degraded", "its nearest adapter lost its port")
            )
        elif not near:
            gpus.append(
                GpuImpact(
                    gpu_id,
                    gpu_host,
                    "degraded",
                    "its host lost adapter ports (which adapter is nearest is not known)",
                )
            )

    # jobs: by the ports their ranks used and the hosts they ran on
    jobs: dict[str, dict[str, Any]] = {}
    crossing: dict[str, set[str]] = defaultdict(set)  # job -> switches its used ports hang on
    for rank_id, (job_id, rank_host, used) in sorted(graph.ranks.items()):
        for port_id in used:
            if port_id in edge:
                crossing[job_id].add(edge[port_id][0])
        impact = hosts.get(_short(rank_host) or "")
        reason = None
        if any(p in lost_set for p in used):
            status_j: JobStatus = "interrupted"
            reason = "a rank's HCA port is lost"
        elif impact is not None and impact.status == "cut":
            status_j, reason = "interrupted", "a rank's host is cut off the fabric"
        elif impact is not None and not used:
            status_j = "degraded"
            reason = "a rank's host lost adapter ports (the rank's own is not known)"
        if reason is None:
            continue
        job = jobs.setdefault(job_id, {"status": status_j, "ranks": [], "reasons": set()})
        if status_j == "interrupted":
            job["status"] = "interrupted"
        job["ranks"].append(rank_id)
        job["reasons"].add(reason)
    notes: list[str] = []
    if links_lost:
        notes.append(
            f"{links_lost} cables between switches are lost: which flows they carried is not "
            "known without the switches' forwarding tables"
        )
        for job_id, switches_used in crossing.items():
            if len(switches_used) > 1:
                job = jobs.setdefault(job_id, {"status": "degraded", "ranks": [], "reasons": set()})
                job["reasons"].add(
                    "its connections cross switches and cables between switches are lost"
                )
    job_rows = tuple(
        JobImpact(j, v["status"], tuple(v["ranks"]), tuple(sorted(v["reasons"])))
        for j, v in sorted(jobs.items())
    )
    if main is None:
        notes.append("no adapter port of the fabric is up: nothing is counted as lost")
    name = None
    if kind == "switch":
        name = graph.nodes[failed].description if failed in graph.nodes else None
    else:
        node = graph.nodes.get(ports[failed].node)
        name = None if node is None else node.description
    return FabricBlast(
        element=failed,
        kind=kind,
        name=name,
        hca_ports_lost=tuple(lost),
        switches_cut_off=tuple(cut_off),
        switch_links_lost=links_lost,
        hosts=tuple(hosts.values()),
        gpus=tuple(gpus),
        jobs=job_rows,
        notes=tuple(notes),
    )
