"""Gateway figures: a small query through the query gateway (API-key auth, auditing on)
against the same query on graph-engine's internal API, in the same run on the demo network.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx
from meshq_runtime.service_auth import service_headers

from bench.stack import API_KEY, Stack

QUERY = "all_devices"


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def _measure(
    url: str, headers: dict[str, str], *, sequential: int, concurrent: int, workers: int
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:

        async def one() -> float:
            t0 = time.perf_counter()
            response = await client.post(url, json={})
            response.raise_for_status()
            return (time.perf_counter() - t0) * 1000

        for _ in range(20):  # warm-up: connections, caches, the gateway's catalogue
            await one()
        started = time.perf_counter()
        seq = [await one() for _ in range(sequential)]
        seq_s = time.perf_counter() - started
        queue = list(range(concurrent))
        conc: list[float] = []

        async def worker() -> None:
            while queue:
                queue.pop()
                conc.append(await one())

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        conc_s = time.perf_counter() - started
    return {
        "sequential": {
            "requests": sequential,
            "rps": round(sequential / seq_s, 1),
            "p50_ms": _pct(seq, 0.5),
            "p95_ms": _pct(seq, 0.95),
        },
        "concurrent": {
            "requests": concurrent,
            "workers": workers,
            "rps": round(concurrent / conc_s, 1),
            "p50_ms": _pct(conc, 0.5),
            "p95_ms": _pct(conc, 0.95),
        },
    }


def run(sequential: int = 500, concurrent: int = 500, workers: int = 8) -> dict[str, Any]:
    with Stack() as stack:
        services = stack.core()
        _say(f"stack up ({stack.kinds}); loading the demo network")
        stack.load_demo()
        gateway, graph = services["gateway"], services["graph"]
        rows = httpx.post(
            f"{gateway.url}/queries/{QUERY}", json={}, headers={"X-API-Key": API_KEY}, timeout=30
        ).json()
        _say(f"demo loaded; {QUERY} returns {rows.get('row_count')} rows through the gateway")
        direct = asyncio.run(
            _measure(
                f"{graph.url}/internal/queries/{QUERY}",
                service_headers(stack.env["MESHQ_SERVICE_TOKEN"], "bench"),
                sequential=sequential,
                concurrent=concurrent,
                workers=workers,
            )
        )
        _say(f"graph-engine direct: {direct}")
        through = asyncio.run(
            _measure(
                f"{gateway.url}/queries/{QUERY}",
                {"X-API-Key": API_KEY},
                sequential=sequential,
                concurrent=concurrent,
                workers=workers,
            )
        )
        _say(f"gateway: {through}")
        kinds = dict(stack.kinds)
    overhead = {
        mode: {
            "p50_ratio": round(through[mode]["p50_ms"] / direct[mode]["p50_ms"], 2),
            "p95_ratio": round(through[mode]["p95_ms"] / direct[mode]["p95_ms"], 2),
            "rps_ratio": round(direct[mode]["rps"] / through[mode]["rps"], 2),
        }
        for mode in ("sequential", "concurrent")
    }
    return {
        "query": QUERY,
        "network": "demo",
        "rows": rows.get("row_count"),
        "auth": "api_key",
        "auditing": True,
        "infra": kinds,
        "gateway": through,
        "graph_engine_direct": direct,
        "overhead": overhead,
    }


def markdown(r: dict[str, Any]) -> list[str]:
    lines = [
        f"## Query gateway, `{r['query']}` on the demo network ({r['rows']} rows)",
        "",
        "API-key auth and auditing on; graph-engine's internal API called directly in the same "
        f"run for the ratio. Infrastructure: {', '.join(r['infra'].values())}.",
        "",
        "| path | mode | requests | req/s | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for label, key in (("gateway", "gateway"), ("graph-engine direct", "graph_engine_direct")):
        for mode in ("sequential", "concurrent"):
            m = r[key][mode]
            tag = mode if mode == "sequential" else f"concurrency {m['workers']}"
            cells = [label, tag, m["requests"], m["rps"], m["p50_ms"], m["p95_ms"]]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        "| gateway overhead | p50 ratio | p95 ratio | throughput ratio (direct / gateway) |",
        "|---|---|---|---|",
    ]
    for mode in ("sequential", "concurrent"):
        o = r["overhead"][mode]
        lines.append(f"| {mode} | {o['p50_ratio']} | {o['p95_ratio']} | {o['rps_ratio']} |")
    return [*lines, ""]
