"""``python -m bench.answers``: the queries that read answers kept at ingest, timed both ways
on the same graph in the same process: from the kept answers, and counting live (the answers
marked stale, as a start finds them after a crash), with every answer compared.

The synthetic campus of ``bench/synth.py`` at ``--devices`` is ingested into LadybugDB and
changed by 1% (``incremental_change``), so the store has seen updates as a running one has.
Prints a table of p50/p95 per query and way, and the time the writer spent keeping the answers
(from its log). Machine load moves both columns alike, which is the point of timing them side
by side.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NAMES = ("ip-index", "unlocated", "summary")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _params(name: str, net: Any, rng: random.Random) -> dict[str, Any]:
    chosen: dict[str, dict[str, Any]] = {
        "duplicate_ip_addresses": {},
        "summary_stats": {"site": rng.choice(["campus", ""])},
        "endpoints_without_location": {"vlan": rng.choice([0, 100])},
        "ips_in_subnet": {"cidr": rng.choice(net.subnets)},
        "orphaned_ips": {"cidr": rng.choice(["", *net.subnets[:50]])},
        "locate_endpoint_by_ip": {"ip": rng.choice(net.ips)},
    }
    return chosen[name]


async def _run(devices: int, repeats: int) -> list[dict[str, Any]]:
    from meshq_graph_engine import answers
    from meshq_graph_engine.answers.state import read_state, write_state
    from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
    from meshq_graph_engine.engine import GraphEngine
    from meshq_runtime.graph.store import EmbeddedStore

    from bench.synth import generate, incremental_change

    net = generate(devices)
    out = []
    with tempfile.TemporaryDirectory(prefix="meshq-bench-answers-") as tmp:
        store = EmbeddedStore(Path(tmp) / "graph")
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(net.snapshot)
        await engine.apply_snapshot(incremental_change(net))
        ctx = QueryContext(store, engine)
        states = {n: await read_state(store, n) for n in NAMES}
        for name in (
            "duplicate_ip_addresses",
            "summary_stats",
            "endpoints_without_location",
            "ips_in_subnet",
            "orphaned_ips",
            "locate_endpoint_by_ip",
        ):
            rng = random.Random(5)
            chosen = [_params(name, net, rng) for _ in range(repeats)]
            timings: dict[str, list[float]] = {"kept": [], "live": []}
            answered: dict[str, list[Any]] = {"kept": [], "live": []}
            for way in ("kept", "live"):
                for n, state in states.items():
                    assert state is not None, n
                    status = "ok" if way == "kept" else "stale"
                    await write_state(store, n, state.format, status=status)
                for params in chosen:
                    started = time.perf_counter()
                    result = await run_query(REGISTRY, name, params, ctx)
                    timings[way].append((time.perf_counter() - started) * 1000)
                    answered[way].append(result.rows)
            for n, state in states.items():
                assert state is not None
                await write_state(store, n, state.format)
            assert await answers.ip_index_ready(store)
            row = {
                "query": name,
                "rows": len(answered["kept"][-1]),
                "same": answered["kept"] == answered["live"],
                **{f"{w}_p50": _pct(timings[w], 0.5) for w in timings},
                **{f"{w}_p95": _pct(timings[w], 0.95) for w in timings},
            }
            out.append(row)
            print(f"[bench.answers] {row}", file=sys.stderr, flush=True)
        await store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__)
    parser.add_argument("--devices", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rows = asyncio.run(_run(args.devices, args.repeats))
    print(f"## Kept answers against live counts, {args.devices} devices\n")
    print("| query | rows | same | kept p50 | kept p95 | live p50 | live p95 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['query']} | {r['rows']} | {r['same']} | {r['kept_p50']} | {r['kept_p95']} "
            f"| {r['live_p50']} | {r['live_p95']} |"
        )
    if not all(r["same"] for r in rows):
        sys.exit("kept answers differ from live counts")


if __name__ == "__main__":
    main()
