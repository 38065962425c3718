"""``python -m bench.fabric``: an AI fabric ingested and queried on LadybugDB.

The fabric: 256 hosts of 8 GPUs and 8 HCAs (2,048 GPUs), each host on one of 64 leaf switches
(4 hosts, 32 HCAs a leaf), every leaf cabled once to each of 32 spines. One child process
writes it as a folder of CLI output, as ``meshq ingest`` reads it: the subnet manager's
``ibnetdiscover``, ``iblinkinfo --line`` and every switch's ``ibroute`` (a few HCA cables
unplugged, a few run at 1x, a few counting errors in ``ibqueryerrors``), each host's
dcgm-exporter scrape and ``nvidia-smi topo -m`` (a few GPUs hot or with an XID), and four NCCL
jobs of 256 ranks (32 hosts each, NCCL 2.21 INFO logs and an nccl-tests table). A second child
reads the folder (``parse_s``), ingests the snapshot into a fresh embedded store as
graph-engine does (``ingest_s``), then times each of the six fabric queries and the blast
radius of failing switches (``fabric_blast``); its peak resident set (``VmHWM``) is
``peak_rss_mb``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["markdown", "run"]

ROOT = Path(__file__).resolve().parent.parent
LEAVES, SPINES, HOSTS_PER_LEAF, GPUS = 64, 32, 4, 8
JOBS, JOB_HOSTS = 4, 32
QUERIES = (
    "ib_topology",
    "ib_ports_down",
    "dcgm_gpu_health",
    "nccl_jobs",
    "nccl_flows_by_job",
    "nccl_top_talkers",
)
#: NCCL's packed bus ids of a host's GPUs (tests/support/nccl_job.py), as DCGM prints them.
BUS = ("18", "2a", "3a", "5d", "9a", "ab", "ba", "db")
HDR = "53.125 Gbps"


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _hex(value: int) -> str:
    return f"{value:016x}"


class _Fabric:
    """The fat tree: GUIDs, LIDs, descriptions and cables, and the faults written into it."""

    def __init__(self, rng: random.Random) -> None:
        sys.path.insert(0, str(ROOT / "tests"))
        from support.ib_fabric import fat_tree

        self.tree = fat_tree(
            leaves=LEAVES,
            spines=SPINES,
            hosts_per_leaf=HOSTS_PER_LEAF,
            hcas_per_host=GPUS,
            uplinks_per_spine=1,
        )
        self.hosts = sorted({n.host for n in self.tree.hcas if n.host})
        self.lid = {sim_id: i + 1 for i, sim_id in enumerate(self.tree.nodes)}
        self.peer: dict[tuple[str, int], tuple[str, int]] = {}
        for c in self.tree.cables:
            self.peer[(c.a, c.a_port)] = (c.b, c.b_port)
            self.peer[(c.b, c.b_port)] = (c.a, c.a_port)
        hcas = [n.sim_id for n in self.tree.hcas]
        picks = rng.sample(hcas, 24)
        self.unplugged = set(picks[:8])  # cable gone: the leaf port polls
        self.narrow = set(picks[8:16])  # runs 1x, could be 4x
        self.errors = set(picks[16:])  # symbol errors and link downs

    def _cabled(self, sim_id: str, port: int) -> tuple[str, int] | None:
        far = self.peer.get((sim_id, port))
        if far is None or sim_id in self.unplugged or far[0] in self.unplugged:
            return None
        return far

    def _port_guid(self, sim_id: str, port: int) -> int:
        return self.tree.nodes[sim_id].port_guid(port)

    def ibnetdiscover(self) -> str:
        out = [
            "#",
            "# Topology file: generated on Mon Dec  7 09:00:00 2026",
            "#",
            "# Initiated from node b8cef60300000000 port b8cef60300000001",
            "",
        ]
        for node in self.tree.nodes.values():
            if node.sim_id in self.unplugged:
                continue
            guid = _hex(node.guid)
            lid = self.lid[node.sim_id]
            if node.kind == "switch":
                out += [
                    "vendid=0x2c9",
                    "devid=0xd2f0",
                    f"sysimgguid=0x{guid}",
                    f"switchguid=0x{guid}({guid.lstrip('0')})",
                    f'Switch\t{node.ports} "S-{guid}"\t\t# "{node.description}" enhanced '
                    f"port 0 lid {lid} lmc 0",
                ]
            else:
                out += [
                    "vendid=0x2c9",
                    "devid=0x101b",
                    f"sysimgguid=0x{guid}",
                    f"caguid=0x{guid}",
                    f'Ca\t{node.ports} "H-{guid}"\t\t# "{node.description}"',
                ]
            for port in range(1, node.ports + 1):
                far = self._cabled(node.sim_id, port)
                if far is None:
                    continue
                other = self.tree.nodes[far[0]]
                width = "1x" if {node.sim_id, other.sim_id} & self.narrow else "4x"
                fguid = _hex(other.guid)
                if other.kind == "switch":
                    target = f'"S-{fguid}"[{far[1]}]'
                else:
                    target = f'"H-{fguid}"[{far[1]}]({self._port_guid(*far):x})'
                flid = self.lid[other.sim_id]
                if node.kind == "switch":
                    out.append(
                        f'[{port}]\t{target}\t\t# "{other.description}" lid {flid} {width}HDR'
                    )
                else:
                    out.append(
                        f"[{port}]({self._port_guid(node.sim_id, port):x})\t{target}\t\t# lid "
                        f'{lid} lmc 0 "{other.description}" lid {flid} {width}HDR'
                    )
            out.append("")
        return "\n".join(out) + "\n"

    def ibroute(self) -> dict[int, str]:
        """Each switch's ``ibroute`` output (by its LID), as a subnet manager's up/down routing
        programs a two-tier tree: a leaf sends its own hosts' LIDs down, every other LID up to
        the spine ``LID mod spines``; a spine sends a LID down to the leaf it hangs on (a
        spine's own LID: through the leaf ``LID mod leaves``)."""
        ports: dict[str, dict[str, int]] = {}
        for (a, a_port), (b, _) in self.peer.items():
            if a in self.tree.nodes and self.tree.nodes[a].kind == "switch":
                ports.setdefault(a, {}).setdefault(b, a_port)
        leaves = [n.sim_id for n in self.tree.switches if n.sim_id.startswith("leaf")]
        spines = [n.sim_id for n in self.tree.switches if n.sim_id.startswith("spine")]
        home = {b: a for a in leaves for b in ports[a] if self.tree.nodes[b].kind != "switch"}
        targets = sorted(
            (lid, sim_id) for sim_id, lid in self.lid.items() if sim_id not in self.unplugged
        )
        out: dict[int, str] = {}
        for switch in (*leaves, *spines):
            node = self.tree.nodes[switch]
            lid = self.lid[switch]
            lines = [
                f"Unicast lids [0x0-0x{targets[-1][0]:x}] of switch Lid {lid} guid "
                f"0x{_hex(node.guid)} ({node.description}):",
                "  Lid  Out   Destination",
                "       Port     Info ",
            ]
            for dst_lid, dst in targets:
                if dst == switch:
                    port = 0
                elif dst in ports[switch]:
                    port = ports[switch][dst]
                elif switch in spines:
                    via = home.get(dst) or (dst if dst in leaves else leaves[dst_lid % LEAVES])
                    port = ports[switch][via]
                else:
                    port = ports[switch][spines[dst_lid % SPINES]]
                other = self.tree.nodes[dst]
                kind = "Switch" if other.kind == "switch" else "Channel Adapter"
                guid = other.guid if other.kind == "switch" else other.port_guid(1)
                lines.append(
                    f"0x{dst_lid:04x} {port:03d} : ({kind} portguid 0x{_hex(guid)}: "
                    f"'{other.description}')"
                )
            lines.append(f"{len(targets)} valid lids dumped ")
            out[lid] = "\n".join(lines) + "\n"
        return out

    def iblinkinfo(self) -> str:
        out = []
        for node in self.tree.nodes.values():
            if node.sim_id in self.unplugged:
                continue
            for port in range(1, node.ports + 1):
                head = (
                    f'0x{_hex(self._port_guid(node.sim_id, port))} "{node.description}"'
                    f" {self.lid[node.sim_id]:>5} {port:>4}[  ]"
                )
                far = self._cabled(node.sim_id, port)
                if far is None:
                    out.append(
                        f'{head} ==(                Down/ Polling)==>             [  ] "" ( )'
                    )
                    continue
                other = self.tree.nodes[far[0]]
                narrow = {node.sim_id, other.sim_id} & self.narrow
                width, hint = ("1X", "Could be 4X") if narrow else ("4X", " ")
                out.append(
                    f"{head} ==( {width} {HDR:>17} Active/  LinkUp)==>  "
                    f"0x{_hex(self._port_guid(*far))} {self.lid[other.sim_id]:>5} "
                    f'{far[1]:>4}[  ] "{other.description}" ({hint})'
                )
        return "\n".join(out) + "\n"

    def ibqueryerrors(self) -> str:
        out = []
        for sim_id in sorted(self.errors):
            node = self.tree.nodes[sim_id]
            out.append(f'Errors for "{node.description}"')
            out.append(
                f"   GUID 0x{_hex(node.port_guid(1))} port 1: [SymbolErrorCounter == 1200] "
                "[LinkDownedCounter == 14] [PortXmitWait == 4096]"
            )
        return "\n".join(out) + "\n"


def _topo() -> str:
    """``nvidia-smi topo -m`` of an 8-GPU, 8-NIC server: each GPU and its own NIC on one
    PCIe switch (PIX), the other NICs of its socket NODE, the far socket's SYS."""
    cols = [f"GPU{i}" for i in range(GPUS)] + [f"NIC{i}" for i in range(GPUS)]
    lines = ["\t" + "\t".join(cols) + "\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID"]

    def path(a: int, b: int, nic: bool) -> str:
        if a == b:
            return "PIX" if nic else "X"
        if not nic:
            return "NV18"
        return "NODE" if a // 4 == b // 4 else "SYS"

    for i in range(GPUS):
        cells = [path(i, j, False) for j in range(GPUS)] + [path(i, j, True) for j in range(GPUS)]
        numa = i // 4
        cpus = "0-55,112-167" if numa == 0 else "56-111,168-223"
        lines.append(f"GPU{i}\t" + "\t".join(cells) + f"\t{cpus}\t{numa}\t\tN/A")
    for j in range(GPUS):
        cells = [path(i, j, True) for i in range(GPUS)]
        cells += ["X" if j == k else ("NODE" if j // 4 == k // 4 else "SYS") for k in range(GPUS)]
        lines.append(f"NIC{j}\t" + "\t".join(cells))
    lines += ["", "NIC Legend:", ""] + [f"  NIC{j}: mlx5_{j}" for j in range(GPUS)]
    return "\n".join(lines) + "\n"


def _dcgm(host: str, h: int, rng: random.Random, hot: set[int], xid: set[int]) -> str:
    """A dcgm-exporter scrape of the host's eight GPUs."""
    families = (
        ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
        ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
        ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
        ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
        ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
        ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total double-bit volatile ECC errors."),
        ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed."),
        ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    )
    out = []
    for name, kind, helptext in families:
        out += [f"# HELP {name} {helptext}", f"# TYPE {name} {kind}"]
        for g in range(GPUS):
            gid = h * GPUS + g
            labels = (
                f'gpu="{g}",UUID="GPU-{gid:08x}-0000-4000-8000-{gid:012x}",'
                f'pci_bus_id="00000000:{BUS[g].upper()}:00.0",device="nvidia{g}",'
                f'modelName="NVIDIA H100 80GB HBM3",Hostname="{host}"'
            )
            value: float = {
                "DCGM_FI_DEV_GPU_TEMP": 88 if gid in hot else rng.randint(30, 70),
                "DCGM_FI_DEV_MEMORY_TEMP": rng.randint(30, 70),
                "DCGM_FI_DEV_POWER_USAGE": round(rng.uniform(90, 650), 3),
                "DCGM_FI_DEV_GPU_UTIL": rng.randint(0, 100),
                "DCGM_FI_DEV_XID_ERRORS": 79 if gid in xid else 0,
                "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": 0,
                "DCGM_FI_DEV_ROW_REMAP_FAILURE": 0,
                "DCGM_FI_DEV_FB_USED": rng.randint(0, 81000),
            }[name]
            if name == "DCGM_FI_DEV_XID_ERRORS":
                labels += f',err_code="{int(value)}"'
            out.append(f"{name}{{{labels}}} {value}")
    return "\n".join(out) + "\n"


def _generate(folder: Path) -> dict[str, Any]:
    """Child 1: the fabric, the hosts' GPU outputs and the jobs, as a folder of CLI output."""
    started = time.perf_counter()
    rng = random.Random(11)
    fabric = _Fabric(rng)
    from support.nccl_job import write_job_log

    root = folder / "fabric"
    sm = root / "ib-sm01"
    sm.mkdir(parents=True)
    (sm / "ibnetdiscover.txt").write_text(fabric.ibnetdiscover())
    (sm / "iblinkinfo --line.txt").write_text(fabric.iblinkinfo())
    (sm / "ibqueryerrors.txt").write_text(fabric.ibqueryerrors())
    for lid, table in fabric.ibroute().items():  # every switch's forwarding table
        (sm / f"ibroute_{lid}.txt").write_text(table)
    total = len(fabric.hosts) * GPUS
    hot, xid = set(rng.sample(range(total), 16)), set(rng.sample(range(total), 4))
    topo = _topo()
    for h, host in enumerate(fabric.hosts):
        (root / host).mkdir()
        (root / host / "dcgm-exporter.prom").write_text(_dcgm(host, h, rng, hot, xid))
        (root / host / "nvidia-smi topo -m.txt").write_text(topo)
    table = (ROOT / "tests/fixtures/real/nccl/nccl-tests/nccl-340-all-reduce-2.6.txt").read_text()
    template = write_job_log(hosts=JOB_HOSTS, gpus=GPUS, style="2.2x").text
    jobs = []
    for k in range(JOBS):
        names = [fabric.hosts[(k * 64 + 2 * i) % len(fabric.hosts)] for i in range(JOB_HOSTS)]
        text = template
        for n in reversed(range(JOB_HOSTS)):
            text = text.replace(f"gpu-node-{n + 1:02d}:", f"{names[n]}:")
        job = root / f"job-{k}"
        job.mkdir()
        job_id = f"bench-train-{k}"
        (job / "job.yaml").write_text(f"job_id: {job_id}\nstarted_at: 2026-12-07T08:00:00Z\n")
        (job / "ranks.log").write_text(text)
        (job / "all_reduce_perf.txt").write_text(table)
        jobs.append(job_id)
    spec = {
        "generate_s": round(time.perf_counter() - started, 2),
        "hosts": fabric.hosts,
        "jobs": jobs,
        "switches": [n.description.split(";")[1].split(":")[0] for n in fabric.tree.switches],
        "files_mb": round(sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20, 1),
    }
    (folder / "spec.json").write_text(json.dumps(spec))
    _say(f"generated the fabric in {spec['generate_s']}s ({spec['files_mb']} MB of outputs)")
    return spec


def _params(name: str, spec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Each query's parameters, varied the way a user would vary them."""
    if name == "ib_topology":
        return rng.choice([{}, {"switch": rng.choice(spec["switches"])}, {"state": "active"}])
    if name == "ib_ports_down":
        return rng.choice([{}, {"include_unlinked": True}])
    if name == "dcgm_gpu_health":
        return rng.choice([{}, {"host": rng.choice(spec["hosts"])}, {"verdict": "degraded"}])
    if name == "nccl_jobs":
        return rng.choice([{}, {"job_id": rng.choice(spec["jobs"])}])
    if name == "nccl_flows_by_job":
        return {"job_id": rng.choice(spec["jobs"]), "transport": rng.choice(["", "net"])}
    return rng.choice([{}, {"job_id": rng.choice(spec["jobs"])}, {"by": "host"}])


async def _measure(folder: Path, repeats: int) -> dict[str, Any]:
    """Child 2: read the folder as ``meshq ingest`` does, ingest as graph-engine does, query."""
    from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
    from meshq_graph_engine.engine import GraphEngine
    from meshq_graph_engine.facts import read_snapshot
    from meshq_runtime.graph.store import EmbeddedStore
    from network_discovery.parsers import parse_directory

    from bench.graph import _peak_rss_mb

    spec = json.loads((folder / "spec.json").read_text())
    out: dict[str, Any] = {
        "hosts": len(spec["hosts"]),
        "gpus": len(spec["hosts"]) * GPUS,
        "switches": len(spec["switches"]),
        "jobs": len(spec["jobs"]),
        "generate_s": spec["generate_s"],
        "files_mb": spec["files_mb"],
    }
    started = time.perf_counter()
    snapshot, report = parse_directory(folder / "fabric")
    out["parse_s"] = round(time.perf_counter() - started, 2)
    out["parse_errors"] = sum(1 for i in report.issues if i.severity == "error")
    body = snapshot.model_dump_json().encode()
    del snapshot
    out["snapshot_mb"] = round(len(body) / 2**20, 1)
    _say(f"read the outputs in {out['parse_s']}s ({out['snapshot_mb']} MB snapshot)")
    store = EmbeddedStore(folder / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    started, cpu = time.perf_counter(), time.process_time()
    facts = read_snapshot(body)
    del body
    await engine.apply_snapshot(facts)
    del facts
    out["ingest_s"] = round(time.perf_counter() - started, 2)
    out["ingest_cpu_s"] = round(time.process_time() - cpu, 2)
    out["ingest_peak_rss_mb"] = _peak_rss_mb()
    out["graph"] = {
        label: len(engine.projection.nodes.get(label, {}))
        for label in ("IBNode", "IBPort", "GPU", "NcclJob", "NcclRank")
    }
    out["graph"]["IB_LINK"] = len(engine.projection.rels.get("IB_LINK", {}))
    out["graph"]["NCCL_CONNECTION"] = len(engine.projection.rels.get("NCCL_CONNECTION", {}))
    _say(f"ingested in {out['ingest_s']}s: {out['graph']}")
    rng = random.Random(5)
    ctx = QueryContext(store, engine)
    queries: dict[str, Any] = {}
    for name in QUERIES:
        timings: list[float] = []
        rows: list[int] = []
        for _ in range(repeats):
            params = _params(name, spec, rng)
            t0 = time.perf_counter()
            result = await run_query(REGISTRY, name, params, ctx)
            timings.append((time.perf_counter() - t0) * 1000)
            rows.append(len(result.rows))
        queries[name] = {
            "p50_ms": _pct(timings, 0.5),
            "p95_ms": _pct(timings, 0.95),
            "runs": len(timings),
            "max_rows": max(rows),
        }
        _say(f"{name}: {queries[name]}")
    out["queries"] = queries
    # a job's network flows across switches, routed through the switches' forwarding tables
    flows = (
        await run_query(
            REGISTRY, "nccl_flows_by_job", {"job_id": spec["jobs"][0], "transport": "net"}, ctx
        )
    ).rows
    across = [f for f in flows if f["path"] == "across_switches"]
    out["paths"] = {
        "across_switches": len(across),
        "known": sum(1 for f in across if f["path_known"] and len(f["fabric_path"]) == 3),
    }
    _say(f"flow paths: {out['paths']}")
    # blast radius over the fabric: the graph read from the store once, then switches failed
    from meshq_graph_engine.fabric import fabric_blast, load_fabric

    started = time.perf_counter()
    fabric = await load_fabric(store)
    out["blast_load_ms"] = round((time.perf_counter() - started) * 1000, 1)
    timings, cut = [], []
    for _ in range(repeats):
        switch = rng.choice(spec["switches"])
        t0 = time.perf_counter()
        blast = fabric_blast(fabric, switch)
        timings.append((time.perf_counter() - t0) * 1000)
        cut.append(len(blast.hosts))
    out["blast"] = {
        "p50_ms": _pct(timings, 0.5),
        "p95_ms": _pct(timings, 0.95),
        "runs": repeats,
        "max_hosts": max(cut),
    }
    _say(f"fabric blast radius: load {out['blast_load_ms']} ms, {out['blast']}")
    await store.close()
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def _child(*args: object) -> None:
    subprocess.run([sys.executable, "-m", "bench.fabric", *map(str, args)], check=True, cwd=ROOT)


def run(repeats: int = 20) -> dict[str, Any]:
    """The figures of one fabric, generated and measured in processes of their own."""
    with tempfile.TemporaryDirectory(prefix="meshq-bench-fabric-") as tmp:
        _child("generate", tmp)
        _child("measure", tmp, repeats)
        result: dict[str, Any] = json.loads((Path(tmp) / "result.json").read_text())
        return result


def markdown(r: dict[str, Any]) -> list[str]:
    graph = ", ".join(f"{v} {k}" for k, v in r["graph"].items())
    lines = [
        f"## AI fabric: {r['gpus']} GPUs, {r['hosts']} hosts, {r['switches']} switches,"
        f" {r['jobs']} NCCL jobs",
        "",
        "| figure | value |",
        "|---|---|",
        f"| graph | {graph} |",
        f"| outputs read (meshq ingest) | {r['parse_s']} s ({r['files_mb']} MB of files,"
        f" {r['snapshot_mb']} MB snapshot) |",
        f"| ingest into the graph | {r['ingest_s']} s ({r['ingest_cpu_s']} s CPU) |",
        f"| peak RSS after ingest | {r['ingest_peak_rss_mb']} MB |",
        f"| peak RSS | {r['peak_rss_mb']} MB |",
        "",
        "| query | p50 ms | p95 ms | runs | most rows |",
        "|---|---|---|---|---|",
    ]
    for name, q in r["queries"].items():
        lines.append(f"| {name} | {q['p50_ms']} | {q['p95_ms']} | {q['runs']} | {q['max_rows']} |")
    if "paths" in r:
        p = r["paths"]
        lines += [
            "",
            f"Flows of one job across switches: {p['across_switches']}, of which"
            f" {p['known']} routed leaf-spine-leaf through the forwarding tables.",
        ]
    if "blast" in r:
        b = r["blast"]
        lines += [
            "",
            f"Blast radius of a failing switch (`fabric_blast`; the fabric read from the store in"
            f" {r['blast_load_ms']} ms once): p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms over"
            f" {b['runs']} switches (at most {b['max_hosts']} hosts cut or degraded).",
        ]
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fabric", description=__doc__)
    parser.add_argument("step", choices=("generate", "measure", "all"), nargs="?", default="all")
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("repeats", type=int, nargs="?", default=20)
    args = parser.parse_args()
    if args.step == "all":
        print(json.dumps(run(args.repeats), indent=2))
    elif args.step == "generate":
        _generate(args.folder)
    else:
        result = asyncio.run(_measure(args.folder, args.repeats))
        (args.folder / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
