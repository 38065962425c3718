"""From NCCL facts to ``NcclJob``, ``NcclRank``, ``HAS_RANK``, ``RANK_GPU``,
``RANK_HCA_PORT``, ``RUNS_RANK`` and ``NCCL_CONNECTION``, projected with the fabric (the
ranks join its GPUs and HCA ports, and the ``Device`` of their host).

A rank joins the GPU of its host whose PCI bus id is the rank's (``busId``), else whose
NVML index is the rank's ``nvmlDev``; never by CUDA device number, which
``CUDA_VISIBLE_DEVICES`` renumbers. A rank's HCA port (``mlx5_0:1``) joins the fabric's port
of that number on the adapter of that name in the rank's host (the host's short name). A
connection joins the ranks it names: the rank of that number on the printing host, in the
job's communicator that has one there; a connection that fits no rank, or several, is left
out rather than guessed. A rank hangs off its host's ``Device`` (``RUNS_RANK``) when its host
name names one device (``fabric._hosts``); when it could name several, none is linked and the
rank's ``host_candidates`` lists them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from meshq_graph_engine.fabric._hosts import HostIndex
from meshq_graph_engine.facts import FactStore, row_dict
from meshq_graph_engine.projection import NODE_PROPS, REL_PROPS, NodeRow, RelKey, RelRow, shape_node

__all__ = ["NCCL_KINDS", "project_nccl"]

NCCL_KINDS = frozenset({"nccl_jobs", "nccl_ranks", "nccl_connections", "nccl_results"})

Nodes = dict[str, dict[str, NodeRow]]
Rels = dict[str, dict[RelKey, RelRow]]


def _views(facts: FactStore, kind: str) -> list[dict[str, Any]]:
    keys = sorted(facts.keys_of_kind(kind), key=lambda k: (facts.seen.get(k) or "", k))
    return [row_dict(r) for key in keys for r in facts.sets[key]]


def _short(host: str | None) -> str | None:
    return None if host is None else str(host).split(".", 1)[0].lower()


def _column(label: str, rows: Mapping[str, NodeRow], *names: str) -> list[tuple[Any, ...]]:
    props = NODE_PROPS[label]
    at = [props.index(n) for n in names]
    return [(node_id, *(row[i] for i in at)) for node_id, row in rows.items()]


def _measurement(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The job's nccl-tests row at the largest size (out-of-place first), with bandwidth."""
    usable = [r for r in results if r.get("busbw_gbps") is not None and r.get("algbw_gbps")]
    if not usable:
        return {"test_results": len(results) or None}
    best = max(
        usable,
        key=lambda r: (r["size_bytes"], r["placement"] == "out-of-place", -r.get("index", 0)),
    )
    return {
        "test": best.get("test"),
        "test_size_bytes": best["size_bytes"],
        "test_algbw_gbps": best["algbw_gbps"],
        "test_busbw_gbps": best["busbw_gbps"],
        "test_results": len(results),
    }


def _ranks(
    placed: Mapping[tuple[str, int, str | None], list[str]],
    anywhere: Mapping[tuple[str, int], list[str]],
    job_id: str,
    rank: int,
    host: str | None,
) -> list[str]:
    """The rank nodes a connection's end may be: that rank number on that host, or on any
    host when the line did not say."""
    if host is not None:
        return placed.get((job_id, rank, _short(host)), [])
    return list(anywhere.get((job_id, rank), []))


def project_nccl(
    facts: FactStore,
    hosts: HostIndex,
    adapters: Mapping[tuple[str, str], str],
    out_nodes: Nodes,
    out_rels: Rels,
) -> None:
    """The NCCL rows, joined to the GPU and IBPort rows already in ``out_nodes``
    (``adapters``: (short host name, adapter name) -> node GUID)."""
    jobs: dict[str, dict[str, Any]] = {}
    for view in _views(facts, "nccl_jobs"):
        jobs[view["job_id"]] = view
    if not jobs:
        return
    results: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for view in _views(facts, "nccl_results"):
        results[view["job_id"]].append(view)
    for job_id, view in jobs.items():
        row = {k: v for k, v in view.items() if k not in ("device", "job_id")}
        row.update(_measurement(results.get(job_id, [])))
        out_nodes["NcclJob"][job_id] = shape_node("NcclJob", {**row, "id": job_id})

    by_bus: dict[tuple[str, str], str] = {}
    by_index: dict[tuple[str, int], str] = {}
    for gpu_id, host, index, bus in _column(
        "GPU", out_nodes.get("GPU", {}), "host", "gpu_index", "pci_bus_id"
    ):
        if bus:
            by_bus.setdefault((_short(host) or "", bus), gpu_id)
        by_index.setdefault((_short(host) or "", index), gpu_id)
    port_of: dict[tuple[str, int], str] = {}
    for port_id, guid, number in _column(
        "IBPort", out_nodes.get("IBPort", {}), "node_guid", "port"
    ):
        if guid is not None:
            port_of[(guid, number)] = port_id

    gpu_props, hca_props = REL_PROPS["RANK_GPU"], REL_PROPS["RANK_HCA_PORT"]
    #: (job, rank number, short host) -> rank node ids
    placed: dict[tuple[str, int, str | None], list[str]] = defaultdict(list)
    anywhere: dict[tuple[str, int], list[str]] = defaultdict(list)
    for view in _views(facts, "nccl_ranks"):
        job_id = view["job_id"]
        if job_id not in jobs:
            continue
        rank_id = f"{job_id}|{view['comm']}|{view['rank']}"
        match = hosts.match(view.get("host"))
        out_nodes["NcclRank"][rank_id] = shape_node(
            "NcclRank",
            {
                **view,
                "id": rank_id,
                "hca_ports": view.get("hca_ports") or [],
                "host_candidates": list(match.candidates),
            },
        )
        out_rels["HAS_RANK"][(job_id, rank_id)] = ()
        if match.device is not None:
            out_rels["RUNS_RANK"][(match.device, rank_id)] = ()
        host = _short(view.get("host"))
        placed[(job_id, view["rank"], host)].append(rank_id)
        anywhere[(job_id, view["rank"])].append(rank_id)
        if host is None:
            continue
        gpu, how = None, None
        if view.get("bus_id") and (host, view["bus_id"]) in by_bus:
            gpu, how = by_bus[(host, view["bus_id"])], "bus_id"
        elif view.get("nvml_dev") is not None and (host, view["nvml_dev"]) in by_index:
            gpu, how = by_index[(host, view["nvml_dev"])], "nvml_dev"
        if gpu is not None:
            out_rels["RANK_GPU"][(rank_id, gpu)] = tuple(
                {"matched_by": how}.get(p) for p in gpu_props
            )
        for name in view.get("hca_ports") or []:
            device, _, number = str(name).rpartition(":")
            guid = adapters.get((host, device))
            port = port_of.get((guid, int(number))) if guid is not None else None
            if port is not None:
                out_rels["RANK_HCA_PORT"][(rank_id, port)] = tuple(
                    {"hca": name}.get(p) for p in hca_props
                )

    pairs: dict[RelKey, dict[str, set[Any]]] = {}
    for view in _views(facts, "nccl_connections"):
        job_id = view["job_id"]
        src = _ranks(placed, anywhere, job_id, view["src_rank"], view.get("src_host"))
        dst = _ranks(placed, anywhere, job_id, view["dst_rank"], view.get("dst_host"))
        if len(src) != 1 or len(dst) != 1:
            continue
        pair = pairs.setdefault(
            (src[0], dst[0]),
            {
                k: set()
                for k in ("channels", "ring_channels", "transports", "vias", "src_hcas", "dst_hcas")
            },
        )
        pair["channels"].add(view["channel"])
        if view.get("in_ring"):
            pair["ring_channels"].add(view["channel"])
        pair["transports"].add(view["transport"])
        pair["vias"].add(view["via"])
        if view.get("src_hca"):
            pair["src_hcas"].add(view["src_hca"])
        if view.get("dst_hca"):
            pair["dst_hcas"].add(view["dst_hca"])
    props = REL_PROPS["NCCL_CONNECTION"]
    for key, sets in pairs.items():
        out_rels["NCCL_CONNECTION"][key] = tuple(
            ",".join(str(v) for v in sorted(sets[p])) for p in props
        )
