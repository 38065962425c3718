"""Graph engine figures on LadybugDB at several sizes, each size in processes of its own.

For each size, one child process generates the synthetic network (``bench/synth.py``) and
writes the snapshot, the 1% change and the query parameters as JSON; a second child parses the
snapshot as graph-engine's intake does, ingests it into a fresh embedded store, applies the
change, and times every catalogue query. The second child holds only what graph-engine would
hold, so its peak resident set (``VmHWM``, the high-water mark since it started) is
graph-engine's peak RSS at that size (``peak_rss_mb``).

The figures of each size are kept (``growth``) and printed side by side, per device, with the
growth of each per-device figure from one size to the next: 1.0x is linear, more is a stage
that grows faster than the network.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["WRITES", "growth_markdown", "markdown", "run", "sizes_for"]

ROOT = Path(__file__).resolve().parent.parent
#: The sizes every run also measures (those below ``--devices``), so that growth shows.
GROWTH_SIZES = (1_000, 5_000, 10_000)
#: Per-device growth from one size to the next above which a figure is flagged.
SUPERLINEAR = 1.5
#: How the store is written: the writer's choice, or (to compare) ``UNWIND`` batches only.
WRITES = ("default", "unwind")
#: Query parameters are drawn from this many of each kind of value.
SAMPLE = 5_000


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def sizes_for(devices: int, sizes: str | None) -> list[int]:
    """The sizes to run: ``sizes`` (comma-separated; empty for none) and ``devices``; by
    default those of :data:`GROWTH_SIZES` below ``devices``."""
    if sizes is None:
        chosen = [n for n in GROWTH_SIZES if n < devices]
    else:
        chosen = [int(s) for s in sizes.split(",") if s.strip()]
    if any(n < 10 for n in chosen) or devices < 10:
        raise SystemExit("every size must be at least 10 devices")
    return sorted({*chosen, devices})


@dataclass
class Values:
    """What query parameters are drawn from (a sample of the network's values)."""

    access: list[str]
    macs: list[str]
    ips: list[str]
    subnets: list[str]


def _params_for(query: Any, net: Values, rng: random.Random) -> dict[str, Any]:
    """Plausible parameters for any catalogue query, chosen by parameter name; a value the
    query does not accept gives way to the parameter's default."""
    from pydantic import ValidationError

    device = rng.choice(net.access)
    flow = {
        "source": rng.choice(net.ips),
        "destination": rng.choice(net.ips),
        "protocol": "tcp",
        "port": 443,
    }
    values = {
        "device": device,
        "hostname": device,
        "interface": f"GigabitEthernet1/0/{rng.randint(1, 48)}",
        "mac": rng.choice(net.macs),
        "ip": rng.choice(net.ips),
        "cidr": rng.choice(net.subnets),
        "subnet": rng.choice(net.subnets),
        "depth": 2,
        "vlan": 100,
        "site": "campus",
        **flow,
        "flows": [flow],
        "src_zone": "inside",
        "dst_zone": "outside",
        "filter": "OUTSIDE-IN",
        # the generated network has no InfiniBand fabric or training jobs: the fabric
        # queries are timed on an empty fabric here
        "job_id": "bench-job",
        "element": "leaf01",
    }
    fields = query.params.model_fields
    params = {name: values[name] for name in fields if name in values}
    if query.writes:
        params.setdefault("rack", f"R{rng.randint(1, 40)}")
    try:
        query.params.model_validate(params)
    except ValidationError as exc:
        for error in exc.errors():
            name = error["loc"][0] if error["loc"] else None
            if isinstance(name, str) and not fields[name].is_required():
                params.pop(name, None)
    return params


def _generate(devices: int, folder: Path) -> None:
    """Child 1: the network, as files the measuring child reads."""
    from bench.synth import generate_data, incremental_change

    started = time.perf_counter()
    net = generate_data(devices)
    generate_s = round(time.perf_counter() - started, 2)
    rng = random.Random(3)

    def sample(values: list[str]) -> list[str]:
        return rng.sample(values, min(SAMPLE, len(values)))

    (folder / "snapshot.json").write_text(json.dumps(net.data))
    (folder / "change.json").write_text(incremental_change(net).model_dump_json())
    values = Values(sample(net.access), sample(net.macs), sample(net.ips), sample(net.subnets))
    (folder / "values.json").write_text(
        json.dumps({"generate_s": generate_s, "values": values.__dict__})
    )
    _say(f"generated {devices} devices in {generate_s}s: {net.counts()}")


def _peak_rss_mb() -> float:
    """This process's peak resident set (``VmHWM``; ``ru_maxrss`` where there is no /proc)."""
    from meshq_graph_engine._memory import resident_mb

    memory = resident_mb()
    if memory is not None:
        return memory[1]
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _settled(store: Any, engine: Any) -> None:
    """Path analysis's view and the blast-radius views current at the engine's revision."""
    from meshq_graph_engine.answers.kept import DeviceRows, LinkRows, kept
    from meshq_graph_engine.blast._live import live_topology
    from meshq_graph_engine.blast._segments import live_segments
    from meshq_graph_engine.firewall._live import live_view

    await live_view(store, engine).ready()
    for view in (live_topology(store, engine), live_segments(store, engine)):
        await view.current(engine)  # waits for the refresh under way (the view's lock)
    # the kept whole-graph answers and the flow index are built on the event loop in the
    # background: let it run until they are
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        topology = await live_topology(store, engine).current(engine)
        answers = [kept(engine, kind) for kind in (LinkRows, DeviceRows)]
        if topology._flow_index is not None and all(
            a is not None and a.revision == engine.revision and a._sorted is not None
            for a in answers
        ):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the kept answers and the flow index were not built within 900 s")


async def _measure(devices: int, folder: Path, repeats: int, writes: str) -> dict[str, Any]:
    """Child 2: ingest, the 1% change and the queries, as graph-engine runs them
    (``writes="unwind"``: every store write through ``UNWIND`` batches, for comparison)."""
    from meshq_graph_engine.answers.kept import keep_warm
    from meshq_graph_engine.blast import warm_up as blast_warm_up
    from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
    from meshq_graph_engine.engine import GraphEngine
    from meshq_graph_engine.facts import read_snapshot
    from meshq_graph_engine.firewall import warm_up
    from meshq_runtime.graph import writer
    from meshq_runtime.graph.store import EmbeddedStore

    if writes == "unwind":
        writer.COPY_MIN_VALUES = writer.COPY_REL_MIN_ROWS = writer.LOAD_MIN_VALUES = sys.maxsize

    given = json.loads((folder / "values.json").read_text())
    net = Values(**given["values"])
    out: dict[str, Any] = {"devices": devices, "generate_s": given["generate_s"]}
    if writes != "default":
        out["writes"] = writes
    store = EmbeddedStore(folder / "graph" / "db")
    out["buffer_pool_mb"] = store.buffer_pool_mb
    engine = GraphEngine(store)
    await engine.start()
    # as the service starts (``app.py``): path analysis's view and the blast-radius views
    # kept current in the background
    stop_warm = warm_up(store, engine)
    stop_blast_warm = blast_warm_up(store, engine)
    stop_kept_warm = keep_warm(engine)
    # as graph-engine's intake and consumer do: the snapshot validated, its facts made rows,
    # without every model in memory at once
    started = time.perf_counter()
    facts = read_snapshot((folder / "snapshot.json").read_bytes())
    out["parse_s"] = round(time.perf_counter() - started, 2)
    out["counts"] = facts.counts
    out["parse_peak_rss_mb"] = _peak_rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    full = await engine.apply_snapshot(facts)
    del facts
    out["full_ingest_s"] = round(time.perf_counter() - started, 2)
    out["full_ingest_cpu_s"] = round(time.process_time() - cpu, 2)
    out["graph"] = {k: len(v) for k, v in engine.projection.nodes.items()}
    out["graph"]["links"] = len(engine.projection.rels.get("CONNECTED_TO", {}))
    out["full_ingest_stages_s"] = full.stages
    out["full_ingest_stages_rss_mb"] = full.stages_rss_mb
    _say(f"{devices} devices: full ingest {out['full_ingest_s']}s: {full.added}")
    _say(f"{devices} devices: full ingest stages (s): {full.stages}")
    # the change arrives, as it does in service, once the background work the full ingest
    # started (path analysis's view, the blast-radius views) has followed it
    started = time.perf_counter()
    await _settled(store, engine)
    out["settle_after_full_s"] = round(time.perf_counter() - started, 2)
    _say(f"{devices} devices: views current after the full ingest in {out['settle_after_full_s']}s")
    change = read_snapshot((folder / "change.json").read_bytes())
    started, cpu = time.perf_counter(), time.process_time()
    incr = await engine.apply_snapshot(change)
    out["incremental_ingest_s"] = round(time.perf_counter() - started, 2)
    out["incremental_ingest_cpu_s"] = round(time.process_time() - cpu, 2)
    out["ingest_peak_rss_mb"] = _peak_rss_mb()
    out["incremental_ingest_stages_s"] = incr.stages
    out["incremental_ingest_stages_rss_mb"] = incr.stages_rss_mb
    out["incremental"] = {
        "scope_devices": len(change.scope),
        "added": incr.added,
        "removed": incr.removed,
        "updated": incr.updated,
    }
    _say(f"{devices} devices: incremental (1%) {out['incremental_ingest_s']}s")
    _say(f"{devices} devices: incremental stages (s): {incr.stages}")
    _say(f"{devices} devices: peak RSS after ingest and change {out['ingest_peak_rss_mb']} MB")
    started = time.perf_counter()
    await _settled(store, engine)  # the background work settled before the timings
    out["settle_after_change_s"] = round(time.perf_counter() - started, 2)
    _say(f"{devices} devices: views current after the change in {out['settle_after_change_s']}s")
    rng = random.Random(5)
    ctx = QueryContext(store, engine)
    queries: dict[str, Any] = {}
    # ``repeats`` 0: ingest and change only (the queries skipped)
    for name, query in sorted(REGISTRY.items()) if repeats > 0 else ():
        timings: list[float] = []
        rows = 0
        error = None
        for _ in range(repeats if not query.writes else max(3, repeats // 5)):
            params = _params_for(query, net, rng)
            t0 = time.perf_counter()
            try:
                result = await run_query(REGISTRY, name, params, ctx)
            except Exception as exc:  # report, keep measuring the others
                error = f"{type(exc).__name__}: {exc}"[:200]
                break
            timings.append((time.perf_counter() - t0) * 1000)
            rows = len(result.rows)
        queries[name] = (
            {"error": error}
            if error
            else {
                "p50_ms": _pct(timings, 0.5),
                "p95_ms": _pct(timings, 0.95),
                "runs": len(timings),
                "last_rows": rows,
            }
        )
        _say(f"{devices} devices: {name}: {queries[name]}")
    out["queries"] = queries
    await stop_warm()
    await stop_blast_warm()
    stop_kept_warm()
    await store.close()
    out["peak_rss_mb"] = _peak_rss_mb()
    _say(f"{devices} devices: peak RSS {out['peak_rss_mb']} MB")
    return out


def _child(*args: object) -> None:
    command = [sys.executable, "-m", "bench.graph", *map(str, args)]
    subprocess.run(command, check=True, cwd=ROOT)


def _one_size(devices: int, repeats: int, writes: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="meshq-bench-") as tmp:
        _child("generate", devices, tmp)
        _child("measure", devices, tmp, repeats, "--writes", writes)
        result: dict[str, Any] = json.loads((Path(tmp) / "result.json").read_text())
        return result


def _figures(r: dict[str, Any]) -> dict[str, Any]:
    """What the growth table compares, of one size."""
    return {
        "full_ingest_s": r["full_ingest_s"],
        "incremental_ingest_s": r["incremental_ingest_s"],
        "peak_rss_mb": r["peak_rss_mb"],
        "query_p95_ms": {n: q["p95_ms"] for n, q in r["queries"].items() if "p95_ms" in q},
    }


def run(devices: int, sizes: list[int], repeats: int, writes: str = "default") -> dict[str, Any]:
    """The figures at ``devices`` (as the report has always kept them), and ``growth``: those
    of every size in ``sizes``, each measured in fresh processes."""
    results = {}
    for n in sizes:
        _say(f"graph engine at {n} devices")
        results[n] = _one_size(n, repeats, writes)
    out = dict(results[devices])
    out["growth"] = {str(n): _figures(r) for n, r in sorted(results.items())}
    return out


#: Figures of the growth table: key, name, unit, unit per device, scale to that unit.
_ROWS = (
    ("full_ingest_s", "full ingest", "s", "ms", 1000.0),
    ("incremental_ingest_s", "1% change", "s", "ms", 1000.0),
    ("peak_rss_mb", "peak RSS", "MB", "KB", 1024.0),
)


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def growth_markdown(growth: dict[str, Any]) -> list[str]:
    """Every figure at every size; per device; how the per-device figure grows from one size
    to the next (1.0x: linear; bold from :data:`SUPERLINEAR` on); and what each device added
    from one size to the next cost (a fixed cost, such as a process's own memory, weighs on
    the per-device figure of a small network but not on this one)."""
    sizes = sorted(int(n) for n in growth)
    if len(sizes) < 2:
        return []
    rows: list[tuple[str, str, str, float, list[float | None]]] = [
        (name, unit, per, scale, [growth[str(n)].get(key) for n in sizes])
        for key, name, unit, per, scale in _ROWS
    ]
    queries = sorted({q for n in sizes for q in growth[str(n)]["query_p95_ms"]})
    rows += [
        (f"{q} p95", "ms", "µs", 1000.0, [growth[str(n)]["query_p95_ms"].get(q) for n in sizes])
        for q in queries
    ]
    steps = [f"{a}→{b}" for a, b in itertools.pairwise(sizes)]
    head = " | ".join(str(n) for n in sizes)
    lines = [
        "### Growth with the network (each size in fresh processes)",
        "",
        "Per device: the figure divided by the devices. Growth: how the per-device figure"
        f" changes from one size to the next (1.0x is linear; bold from {SUPERLINEAR}x)."
        " Per added device: the change of the figure over the devices added.",
        "",
        f"| figure | {head} | per device at {head} | growth {' | '.join(steps)}"
        f" | per added device {' | '.join(steps)} |",
        "|---|" + "---|" * (2 * len(sizes) + 2 * len(steps)),
    ]
    for name, unit, per, scale, values in rows:
        each = [f"{v} {unit}" if v is not None else "-" for v in values]
        per_device = [
            v * scale / n if v is not None else None for v, n in zip(values, sizes, strict=True)
        ]
        per_cells = [f"{_num(p)} {per}" if p is not None else "-" for p in per_device]
        growths, added = [], []
        for (a, b), (na, nb), (va, vb) in zip(
            itertools.pairwise(per_device),
            itertools.pairwise(sizes),
            itertools.pairwise(values),
            strict=True,
        ):
            if va is None or vb is None:
                added.append("-")
            else:
                added.append(f"{_num((vb - va) * scale / (nb - na))} {per}")
            if a is None or b is None or a <= 0:
                growths.append("-")
                continue
            ratio = b / a
            growths.append(f"**{ratio:.2f}x**" if ratio >= SUPERLINEAR else f"{ratio:.2f}x")
        lines.append(f"| {name} | {' | '.join(each + per_cells + growths + added)} |")
    return lines


def _cpu(r: dict[str, Any], key: str) -> str:
    return f" ({r[key]} s CPU)" if key in r else ""


def markdown(r: dict[str, Any]) -> list[str]:
    lines = [
        f"## Graph engine on LadybugDB, {r['devices']} devices",
        "",
        "| figure | value |",
        "|---|---|",
        f"| graph | {', '.join(f'{v} {k}' for k, v in sorted(r['graph'].items()))} |",
        f"| full ingest | {r['full_ingest_s']} s{_cpu(r, 'full_ingest_cpu_s')} |",
        f"| incremental ingest (1% of devices) | {r['incremental_ingest_s']} s"
        f"{_cpu(r, 'incremental_ingest_cpu_s')} |",
    ]
    if r.get("writes"):
        lines.append(f"| store writes | all through {r['writes']} (a comparison run) |")
    if "peak_rss_mb" in r:
        lines.append(f"| graph-engine peak RSS | {r['peak_rss_mb']} MB |")
    if "parse_peak_rss_mb" in r:
        lines.append(
            f"| peak RSS once the snapshot is validated and its facts made rows"
            f" ({r.get('parse_s')} s) | {r['parse_peak_rss_mb']} MB |"
        )
    for key, name in (
        ("full_ingest_stages_s", "full ingest"),
        ("incremental_ingest_stages_s", "1% change"),
    ):
        if r.get(key):
            steps = ", ".join(f"{k} {v}" for k, v in r[key].items())
            lines.append(f"| {name}, by step (s) | {steps} |")
        memory = r.get(key.removesuffix("_s") + "_rss_mb")
        if memory:
            steps = ", ".join(f"{k} {now}/{peak}" for k, (now, peak) in memory.items())
            lines.append(f"| {name}, resident set after each step / peak so far (MB) | {steps} |")
    for key, name in (
        (
            "settle_after_full_s",
            "background views current after the full ingest (before the change)",
        ),
        ("settle_after_change_s", "background views current after the 1% change"),
    ):
        if key in r:
            lines.append(f"| {name} | {r[key]} s |")
    if "ingest_peak_rss_mb" in r:
        lines.append(
            f"| peak RSS after the full ingest and the 1% change (before the queries) | "
            f"{r['ingest_peak_rss_mb']} MB |"
        )
    if "buffer_pool_mb" in r:
        lines.append(f"| store buffer pool | {r['buffer_pool_mb']} MB |")
    lines += [
        "",
        "| query | p50 ms | p95 ms | runs |",
        "|---|---|---|---|",
    ]
    for name, q in r["queries"].items():
        if "error" in q:
            lines.append(f"| {name} | error: {q['error']} | | |")
        else:
            lines.append(f"| {name} | {q['p50_ms']} | {q['p95_ms']} | {q['runs']} |")
    if "growth" in r:
        lines += ["", *growth_markdown(r["growth"])]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.graph", description=__doc__)
    parser.add_argument("step", choices=("generate", "measure"))
    parser.add_argument("devices", type=int)
    parser.add_argument("folder", type=Path)
    parser.add_argument("repeats", type=int, nargs="?", default=20)
    parser.add_argument("--writes", choices=WRITES, default="default")
    args = parser.parse_args()
    if args.step == "generate":
        _generate(args.devices, args.folder)
    else:
        result = asyncio.run(_measure(args.devices, args.folder, args.repeats, args.writes))
        (args.folder / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
