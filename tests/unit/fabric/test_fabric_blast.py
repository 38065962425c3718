"""Blast radius over generated fat trees: a failing leaf cuts the hosts single-homed to it and
degrades the dual-homed ones; a spine cuts no host but the cables between switches; a port
takes its own cable. The adapter ports lost are checked against networkx on random trees and
random failures, and the answer read from the store equals the one from the projection."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.fabric import (
    FabricElementError,
    FabricGraph,
    fabric_blast,
    load_fabric,
)
from meshq_graph_engine.facts import FactStore, facts_by_scope
from meshq_graph_engine.projection import project
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SM = "ib-sm"
FABRIC = ["ib_nodes", "ib_ports", "ib_links"]
NCCL = ["nccl_jobs", "nccl_ranks", "nccl_connections", "nccl_results"]
#: A host's adapters: which leaf each is cabled to, given the host's number.
Homing = Callable[[int, int], list[int]]


def _g(value: int) -> str:
    return f"0x{value:016x}"


@dataclass
class Tree:
    """A two-tier fat tree as snapshot facts, with what it is made of."""

    leaves: list[str]
    spines: list[str]
    #: host -> [(adapter node GUID, its port id, leaf GUID)]
    adapters: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cables: list[tuple[str, str]] = field(default_factory=list)  # port id pairs
    owner: dict[str, str] = field(default_factory=dict)  # port id -> node GUID


def fat_tree(
    leaves: int,
    spines: int,
    hosts: int,
    hcas: int,
    homing: Homing,
    *,
    uplinks: int = 1,
    down: frozenset[str] = frozenset(),
) -> Tree:
    """``hosts`` hosts of ``hcas`` single-port adapters (``mlx5_<n>``, described
    ``<host> mlx5_<n>``), adapter n of host h cabled to leaf ``homing(h, hcas)[n]``; every
    leaf cabled ``uplinks`` times to every spine. ``down``: adapter port ids down."""
    sw = [_g(0x0C42A10300000000 + 0x100 * i) for i in range(spines + leaves)]
    tree = Tree(leaves=sw[spines:], spines=sw[:spines])
    nodes: list[dict[str, Any]] = []
    ports: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    next_port = dict.fromkeys(sw, 1)
    for i, guid in enumerate(sw):
        name = f"spine{i + 1:02d}" if i < spines else f"leaf{i - spines + 1:02d}"
        nodes.append(
            {
                "device": SM,
                "guid": guid,
                "node_type": "switch",
                "description": f"MF0;{name}:MQM8700/U1",
            }
        )

    def cable(a: str, a_node: str, b: str, b_node: str, state: str) -> None:
        for port_id, node in ((a, a_node), (b, b_node)):
            guid, number = port_id.split("|")
            is_switch = node in sw
            ports.append(
                {
                    "device": SM,
                    "port_guid": guid,
                    "port": int(number),
                    "node_guid": node,
                    "node_type": "switch" if is_switch else "ca",
                    "state": "active" if is_switch else state,
                }
            )
            tree.owner[port_id] = node
        ag, ap = a.split("|")
        bg, bp = b.split("|")
        links.append(
            {"device": SM, "a_guid": ag, "a_port": int(ap), "b_guid": bg, "b_port": int(bp)}
        )
        tree.cables.append((a, b))

    def switch_port(guid: str) -> str:
        number = next_port[guid]
        next_port[guid] += 1
        return f"{guid}|{number}"

    for leaf in tree.leaves:
        for spine in tree.spines:
            for _ in range(uplinks):
                cable(switch_port(leaf), leaf, switch_port(spine), spine, "active")
    ca = 0xB8CEF60300000000
    for h in range(hosts):
        host = f"gpu-{h + 1:03d}"
        tree.adapters[host] = []
        for n, leaf_index in enumerate(homing(h, hcas)):
            node, port = _g(ca), f"{_g(ca + 1)}|1"
            ca += 0x10
            nodes.append(
                {"device": SM, "guid": node, "node_type": "ca", "description": f"{host} mlx5_{n}"}
            )
            leaf = tree.leaves[leaf_index]
            state = "down" if port in down else "active"
            cable(switch_port(leaf), leaf, port, node, state)
            tree.adapters[host].append((node, port, leaf))
    tree.lists = {"ib_nodes": nodes, "ib_ports": ports, "ib_links": links}
    return tree


def _gpus_and_job(tree: Tree, job_hosts: list[str]) -> dict[str, list[dict[str, Any]]]:
    """One GPU per adapter (GPU n nearest to mlx5_n), and a job with one rank per GPU of
    ``job_hosts``, each rank sending through its GPU's adapter."""
    gpus, affinity, ranks = [], [], []
    for host, adapters in tree.adapters.items():
        for n in range(len(adapters)):
            gpus.append({"host": host, "index": n})
            affinity.append({"host": host, "gpu_index": n, "hca": f"mlx5_{n}", "connection": "PIX"})
    nranks = sum(len(tree.adapters[h]) for h in job_hosts)
    for host in job_hosts:
        for n in range(len(tree.adapters[host])):
            ranks.append(
                {
                    "job_id": "train-1",
                    "comm": "c",
                    "rank": len(ranks),
                    "nranks": nranks,
                    "host": host,
                    "cuda_dev": n,
                    "nvml_dev": n,
                    "hca_ports": [f"mlx5_{n}:1"],
                }
            )
    return {
        "gpus": gpus,
        "gpu_affinity": affinity,
        "nccl_jobs": [{"job_id": "train-1", "nranks": nranks, "hosts": job_hosts}],
        "nccl_ranks": ranks,
    }


def _snapshot(tree: Tree, extra: dict[str, list[dict[str, Any]]] | None = None) -> Snapshot:
    extra = extra or {}
    scope: list[dict[str, Any]] = [{"device": SM, "facts": FABRIC}]
    if extra:
        scope += [{"device": h, "facts": ["gpus", "gpu_affinity"]} for h in tree.adapters]
        scope.append({"device": "nccl-job:train-1", "facts": NCCL})
    return Snapshot.model_validate(
        {
            "snapshot_id": "s",
            "source": "test",
            "collected_at": T0.isoformat(),
            "scope": scope,
            **tree.lists,
            **extra,
        }
    )


def _graph(snapshot: Snapshot) -> FabricGraph:
    facts = FactStore()
    facts.replace("s", T0.isoformat(), facts_by_scope(snapshot))
    projection = project(facts)
    return FabricGraph.from_rows(projection.nodes, projection.rels)


def single(h: int, hcas: int) -> list[int]:
    """Every adapter of host h on leaf h // 2 (two hosts a leaf)."""
    return [h // 2] * hcas


def dual(h: int, hcas: int) -> list[int]:
    """Host h's adapters split between leaves h // 2 and h // 2 + 1 (wrapping)."""
    return [(h // 2 + n % 2) % 4 for n in range(hcas)]


def mixed(h: int, hcas: int) -> list[int]:
    """Hosts 0-3 single-homed (two a leaf, leaves 0 and 1), hosts 4-7 dual-homed over the
    leaf pairs (0, 2), (1, 3), (2, 0), (3, 1)."""
    if h < 4:
        return single(h, hcas)
    first = h - 4
    return [(first + 2 * (n % 2)) % 4 for n in range(hcas)]


def test_a_leaf_failure_cuts_single_homed_hosts_and_degrades_dual_homed_ones() -> None:
    tree = fat_tree(leaves=4, spines=2, hosts=8, hcas=4, homing=mixed)
    graph = _graph(_snapshot(tree, _gpus_and_job(tree, ["gpu-001", "gpu-005", "gpu-008"])))
    leaf = tree.leaves[0]
    blast = fabric_blast(graph, leaf)
    assert (blast.kind, blast.element, blast.name) == ("switch", leaf, "MF0;leaf01:MQM8700/U1")
    # single-homed on leaf 0: hosts 1 and 2; dual-homed with a half on leaf 0: hosts 5 and 7
    status = {h.host: (h.status, len(h.ports_lost), h.ports_up_before) for h in blast.hosts}
    assert status == {
        "gpu-001": ("cut", 4, 4),
        "gpu-002": ("cut", 4, 4),
        "gpu-005": ("degraded", 2, 4),
        "gpu-007": ("degraded", 2, 4),
    }
    assert dict(blast.hosts[2].__dict__)["ports_lost"] == ("mlx5_0:1", "mlx5_2:1")
    lost = {port for a in tree.adapters.values() for _, port, sw in a if sw == leaf}
    assert set(blast.hca_ports_lost) == lost
    assert blast.switch_links_lost == 2 and blast.switches_cut_off == ()
    gpus = {g.gpu: g.status for g in blast.gpus}
    assert gpus == {
        **{f"gpu:gpu-00{h}:{n}": "cut" for h in (1, 2) for n in range(4)},
        # on dual-homed hosts only the GPUs whose nearest adapter is on leaf 0
        **{f"gpu:gpu-005:{n}": "degraded" for n in (0, 2)},
        **{f"gpu:gpu-007:{n}": "degraded" for n in (1, 3)},
    }
    (job,) = blast.jobs
    assert job.job_id == "train-1" and job.status == "interrupted"
    # gpu-001's four ranks (cut host) and gpu-005's two ranks on the lost adapters
    assert job.ranks == tuple(f"train-1|c|{r}" for r in (0, 1, 2, 3, 4, 6))
    assert any("forwarding tables" in note for note in blast.notes)

    # the same leaf by name, and by GUID in another spelling
    assert fabric_blast(graph, "leaf01") == blast
    assert fabric_blast(graph, leaf.upper().replace("0X", "")) == blast


def test_a_spine_failure_cuts_no_host_but_degrades_jobs_across_switches() -> None:
    tree = fat_tree(leaves=4, spines=2, hosts=8, hcas=2, homing=single)
    graph = _graph(_snapshot(tree, _gpus_and_job(tree, ["gpu-001", "gpu-003"])))
    blast = fabric_blast(graph, "spine01")
    assert blast.hosts == () and blast.gpus == () and blast.hca_ports_lost == ()
    assert blast.switch_links_lost == 4
    (job,) = blast.jobs  # its hosts hang on leaves 0 and 1: its traffic crosses the spines
    assert job.status == "degraded" and job.ranks == ()
    assert job.reasons == ("its connections cross switches and cables between switches are lost",)
    # a job within one leaf is not affected by a spine
    local = _graph(_snapshot(tree, _gpus_and_job(tree, ["gpu-001", "gpu-002"])))
    assert fabric_blast(local, "spine01").jobs == ()


def test_the_last_spine_cuts_the_leaves_apart() -> None:
    tree = fat_tree(
        leaves=3, spines=1, hosts=6, hcas=1, homing=lambda h, n: [0 if h < 4 else h - 3]
    )
    blast = fabric_blast(_graph(_snapshot(tree)), "spine01")
    # leaf 0 holds four adapters: the rest of the fabric; leaves 1 and 2 are cut off
    assert blast.switches_cut_off == (tree.leaves[1], tree.leaves[2])
    assert {h.host: h.status for h in blast.hosts} == {"gpu-005": "cut", "gpu-006": "cut"}


def test_a_port_failure_takes_its_cable_only() -> None:
    tree = fat_tree(leaves=2, spines=2, hosts=4, hcas=2, homing=single)
    graph = _graph(_snapshot(tree, _gpus_and_job(tree, ["gpu-001", "gpu-002"])))
    _, port, _ = tree.adapters["gpu-001"][1]
    # the adapter's end of the cable, or the leaf's end: the same answer
    leaf_end = next(a if b == port else b for a, b in tree.cables if port in (a, b))
    for element in (port, leaf_end):
        blast = fabric_blast(graph, element)
        assert blast.kind == "port" and blast.hca_ports_lost == (port,)
        (host,) = blast.hosts
        assert (host.host, host.status, host.ports_lost) == ("gpu-001", "degraded", ("mlx5_1:1",))
        assert [(g.gpu, g.status) for g in blast.gpus] == [("gpu:gpu-001:1", "degraded")]
        (job,) = blast.jobs
        assert (job.status, job.ranks) == ("interrupted", ("train-1|c|1",))
    # an uplink's port: no adapter lost, one cable between switches
    uplink = next(a for a, b in tree.cables if tree.owner[b] in tree.spines)
    blast = fabric_blast(graph, uplink)
    assert blast.hosts == () and blast.switch_links_lost == 1


def test_a_port_already_down_is_not_lost_by_the_failure() -> None:
    first = "0x" + f"{0xB8CEF60300000001:016x}" + "|1"
    tree = fat_tree(
        leaves=2, spines=1, hosts=2, hcas=2, homing=lambda h, n: [h] * n, down=frozenset({first})
    )
    blast = fabric_blast(_graph(_snapshot(tree)), tree.leaves[0])
    (host,) = blast.hosts  # gpu-001's other adapter was its only port up: cut
    assert (host.host, host.status, host.ports_up_before) == ("gpu-001", "cut", 1)
    assert first not in blast.hca_ports_lost


@pytest.mark.parametrize(
    "element",
    ["leaf99", "0x0000000000000001", "0x0c42a10300000000|99", "", "x" * 300],
    ids=["no-name", "no-guid", "no-port", "empty", "too-long"],
)
def test_an_element_the_fabric_does_not_have_is_refused(element: str) -> None:
    tree = fat_tree(leaves=2, spines=1, hosts=2, hcas=1, homing=single)
    with pytest.raises(FabricElementError):
        fabric_blast(_graph(_snapshot(tree)), element)


def test_a_name_two_switches_share_is_refused() -> None:
    tree = fat_tree(leaves=2, spines=1, hosts=2, hcas=1, homing=single)
    for node in tree.lists["ib_nodes"]:
        if node["node_type"] == "switch" and node["guid"] in tree.leaves:
            node["description"] = "MF0;rackA:MQM8700/U1"
    with pytest.raises(FabricElementError, match="2 switches"):
        fabric_blast(_graph(_snapshot(tree)), "rackA")


def _expected_lost(tree: Tree, failed_switch: str | None, failed_port: str | None) -> set[str]:
    """The adapter ports lost, by networkx: the switches' graph without the failed element,
    its component reaching the most adapters (the first-numbered of equals) kept."""
    g: nx.Graph = nx.Graph()
    switches = set(tree.leaves) | set(tree.spines)
    g.add_nodes_from(s for s in switches if s != failed_switch)
    attach: dict[str, str] = {}
    for a, b in tree.cables:
        na, nb = tree.owner[a], tree.owner[b]
        if failed_port in (a, b) or failed_switch in (na, nb):
            if na in switches and nb in switches:
                continue
        if na in switches and nb in switches:
            g.add_edge(na, nb)
        else:
            ca, sw = (b, na) if na in switches else (a, nb)
            if failed_port not in (a, b) and sw != failed_switch:
                attach[ca] = sw
    comps = list(nx.connected_components(g))
    order = sorted(range(len(comps)), key=lambda i: min(comps[i]))
    counts = {i: sum(1 for sw in attach.values() if sw in comps[i]) for i in order}
    best = max(order, key=lambda i: (counts[i], -order.index(i))) if any(counts.values()) else None
    every = {port for adapters in tree.adapters.values() for _, port, _ in adapters}
    kept = {ca for ca, sw in attach.items() if best is not None and sw in comps[best]}
    return every - kept


@pytest.mark.parametrize("seed", range(6), ids=[f"seed{s}" for s in range(6)])
def test_random_trees_and_failures_agree_with_networkx(seed: int) -> None:
    rng = random.Random(seed)
    leaves, spines = rng.randint(2, 6), rng.randint(1, 3)

    def homing(h: int, hcas: int) -> list[int]:
        return [rng.randrange(leaves) for _ in range(hcas)]

    tree = fat_tree(leaves, spines, hosts=rng.randint(4, 12), hcas=rng.randint(1, 4), homing=homing)
    graph = _graph(_snapshot(tree))
    for _ in range(8):
        if rng.random() < 0.5:
            switch = rng.choice(tree.leaves + tree.spines)
            blast, want = fabric_blast(graph, switch), _expected_lost(tree, switch, None)
        else:
            port = rng.choice([p for cable in tree.cables for p in cable])
            blast, want = fabric_blast(graph, port), _expected_lost(tree, None, port)
        assert set(blast.hca_ports_lost) == want
        for host in blast.hosts:
            mine = {p for _, p, _ in tree.adapters[host.host]}
            assert host.status == ("cut" if mine <= want else "degraded")


async def test_the_store_gives_the_same_answer(tmp_path: Path) -> None:
    tree = fat_tree(leaves=4, spines=2, hosts=8, hcas=4, homing=mixed)
    snapshot = _snapshot(tree, _gpus_and_job(tree, ["gpu-001", "gpu-005"]))
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    try:
        await engine.apply_snapshot(snapshot)
        stored = await load_fabric(store)
    finally:
        await store.close()
    held = _graph(snapshot)
    for element in (tree.leaves[0], tree.spines[1], tree.adapters["gpu-005"][0][1]):
        assert fabric_blast(stored, element) == fabric_blast(held, element)
        assert fabric_blast(stored, element).as_dict() == fabric_blast(held, element).as_dict()
