"""Gateway figures: a small query (``all_devices`` on the demo network) through the query gateway
with a named API key under an RBAC policy and auditing on, against the same query on
graph-engine's internal API, in the same run:

- graph-engine direct (the internal API, service credential);
- gateway, answer cache off (``MESHQ_QUERY_CACHE=false``): every call hops to graph-engine;
- gateway, answer cache on: after the first call, every call is a hit.

Both gateways run side by side on the same stack; every path is measured by the same client
(``aiohttp``, kept-alive connections), sequentially and with 8 calls in flight. Besides rates
and latencies, the CPU time the serving processes spent per call (user + system, read from the
OS), which other work on a shared machine does not inflate the way it does wall-clock times.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import aiohttp
import httpx
import psutil
from meshq_runtime.service_auth import service_headers

from bench.stack import Stack

QUERY = "all_devices"
WARM_UP = 50
#: The role the bench's key has: this one query, nothing else (RBAC is evaluated per call).
POLICY = """
roles:
  bench:
    resources: ["all_devices"]
    verbs: ["execute", "list"]
groups:
  "Bench-Readers":
    roles: [bench]
"""


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def _measure(
    url: str, headers: dict[str, str], *, sequential: int, concurrent: int, workers: int
) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=workers * 2)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as client:

        async def one() -> float:
            t0 = time.perf_counter()
            async with client.post(url, json={}) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")
            return (time.perf_counter() - t0) * 1000

        for _ in range(WARM_UP):  # connections, caches, the gateway's catalogue
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


def _cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _measured(
    url: str,
    headers: dict[str, str],
    serving: dict[str, int],
    *,
    sequential: int,
    concurrent: int,
    workers: int,
) -> dict[str, Any]:
    """:func:`_measure`, with the CPU milliseconds each serving process spent per call."""
    before = {name: _cpu_s(pid) for name, pid in serving.items()}
    result = asyncio.run(
        _measure(url, headers, sequential=sequential, concurrent=concurrent, workers=workers)
    )
    calls = WARM_UP + sequential + concurrent
    result["cpu_ms_per_call"] = {
        name: round((_cpu_s(pid) - before[name]) * 1000 / calls, 3) for name, pid in serving.items()
    }
    return result


def _named_key(stack: Stack) -> tuple[str, str]:
    """A named API key in the group the policy grants the query to; (keys file, key)."""
    from click.testing import CliRunner
    from network_discovery.cli.apikey import apikey

    keys = stack.workdir / "bench-api-keys.json"
    args = ["create", "bench-reader", "--group", "Bench-Readers", "--file", str(keys)]
    made = CliRunner().invoke(apikey, args)
    if made.exit_code != 0:
        raise RuntimeError(f"meshq apikey create failed: {made.output}")
    return str(keys), made.stdout.strip().splitlines()[0]


def _following(url: str, deadline_s: float = 60.0) -> dict[str, Any]:
    """Wait until the gateway's answer cache follows topology events; its state."""
    deadline = time.monotonic() + deadline_s
    while True:
        state: dict[str, Any] = httpx.get(f"{url}/health/platform", timeout=10).json()
        cache = state.get("answer_cache") or {}
        if cache.get("following") or time.monotonic() > deadline:
            return dict(cache)
        time.sleep(0.2)


def _pid(service: Any) -> int:
    assert service.proc is not None, "the service is not running"
    return int(service.proc.pid)


def _ratio(through: dict[str, Any], direct: dict[str, Any]) -> dict[str, Any]:
    return {
        mode: {
            "p50_ratio": round(through[mode]["p50_ms"] / direct[mode]["p50_ms"], 2),
            "p95_ratio": round(through[mode]["p95_ms"] / direct[mode]["p95_ms"], 2),
            "rps_ratio": round(direct[mode]["rps"] / through[mode]["rps"], 2),
        }
        for mode in ("sequential", "concurrent")
    }


def run(sequential: int = 500, concurrent: int = 500, workers: int = 8) -> dict[str, Any]:
    with Stack() as stack:
        lic = stack.spawn("meshq_licensing").wait_healthy(timeout=90)
        stack.env["MESHQ_LICENSING_URL"] = lic.url
        graph = stack.spawn("meshq_graph_engine").wait_healthy(timeout=90)
        stack.graph_url = graph.url
        stack.spawn("meshq_audit").wait_healthy(timeout=90)
        _say(f"stack up ({stack.kinds}); loading the demo network")
        stack.load_demo()
        policy = stack.workdir / "bench-rbac.yaml"
        policy.write_text(POLICY)
        keys, key = _named_key(stack)
        common = {
            "MESHQ_GRAPH_ENGINE_URL": graph.url,
            "RBAC_POLICY_FILE": str(policy),
            "MESHQ_API_KEYS_FILE": keys,
        }
        cached_gw = stack.spawn("meshq_query_gateway", **common)
        uncached_gw = stack.spawn("meshq_query_gateway", MESHQ_QUERY_CACHE="false", **common)
        for gw in (cached_gw, uncached_gw):
            gw.wait_healthy(timeout=90, path="/health")
        cache_state = _following(cached_gw.url)
        headers = {"X-API-Key": key}
        answer = httpx.post(
            f"{cached_gw.url}/queries/{QUERY}", json={}, headers=headers, timeout=30
        ).json()
        # RBAC is in force for this key: a query its role does not grant is refused
        refused = httpx.post(
            f"{cached_gw.url}/queries/summary_stats", json={}, headers=headers, timeout=30
        )
        if refused.status_code != 403:
            raise RuntimeError(f"RBAC not in force: summary_stats answered {refused.status_code}")
        _say(f"{QUERY} returns {answer.get('row_count')} rows; cache {cache_state}")
        measure = {"sequential": sequential, "concurrent": concurrent, "workers": workers}
        engine_pid = _pid(graph)
        direct = _measured(
            f"{graph.url}/internal/queries/{QUERY}",
            service_headers(stack.env["MESHQ_SERVICE_TOKEN"], "bench"),
            {"graph_engine": engine_pid},
            **measure,
        )
        _say(f"graph-engine direct: {direct}")
        uncached = _measured(
            f"{uncached_gw.url}/queries/{QUERY}",
            headers,
            {"gateway": _pid(uncached_gw), "graph_engine": engine_pid},
            **measure,
        )
        _say(f"gateway, cache off: {uncached}")
        cached = _measured(
            f"{cached_gw.url}/queries/{QUERY}",
            headers,
            {"gateway": _pid(cached_gw), "graph_engine": engine_pid},
            **measure,
        )
        _say(f"gateway, cache on: {cached}")
        health = httpx.get(f"{cached_gw.url}/health/platform", timeout=10).json()
        cache_after = health.get("answer_cache", {})
        kinds = dict(stack.kinds)
    return {
        "query": QUERY,
        "network": "demo",
        "rows": answer.get("row_count"),
        "auth": "named api key, RBAC policy in force",
        "auditing": True,
        "client": "aiohttp",
        "infra": kinds,
        "gateway": cached,
        "gateway_uncached": uncached,
        "graph_engine_direct": direct,
        "answer_cache": {k: cache_after.get(k) for k in ("hits", "misses", "stored", "bypassed")},
        "overhead": _ratio(cached, direct),
        "overhead_uncached": _ratio(uncached, direct),
    }


def markdown(r: dict[str, Any]) -> list[str]:
    lines = [
        f"## Query gateway, `{r['query']}` on the demo network ({r['rows']} rows)",
        "",
        "A named API key under an RBAC policy, auditing on; graph-engine's internal API and a "
        "gateway with its answer cache off measured in the same run, by the same client "
        f"({r.get('client', 'httpx')}). Infrastructure: {', '.join(r['infra'].values())}.",
        "",
        "| path | mode | requests | req/s | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    paths = (
        ("gateway, answer cache on", "gateway"),
        ("gateway, answer cache off", "gateway_uncached"),
        ("graph-engine direct", "graph_engine_direct"),
    )
    for label, key in paths:
        if key not in r:
            continue
        for mode in ("sequential", "concurrent"):
            m = r[key][mode]
            tag = mode if mode == "sequential" else f"concurrency {m['workers']}"
            cells = [label, tag, m["requests"], m["rps"], m["p50_ms"], m["p95_ms"]]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        "| gateway overhead | mode | p50 ratio | p95 ratio | throughput ratio (direct / gateway) |",
        "|---|---|---|---|---|",
    ]
    for label, key in (("cache on", "overhead"), ("cache off", "overhead_uncached")):
        if key not in r:
            continue
        for mode in ("sequential", "concurrent"):
            o = r[key][mode]
            cells = [label, mode, o["p50_ratio"], o["p95_ratio"], o["rps_ratio"]]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    cpu = [(label, r[key].get("cpu_ms_per_call")) for label, key in paths if key in r]
    if any(c for _, c in cpu):
        lines += [
            "",
            "| path | gateway CPU ms per call | graph-engine CPU ms per call |",
            "|---|---|---|",
        ]
        for label, c in cpu:
            if c:
                cells = [label, c.get("gateway", "-"), c.get("graph_engine", "-")]
                lines.append("| " + " | ".join(str(x) for x in cells) + " |")
    if "answer_cache" in r:
        lines += ["", f"Answer cache after the run: `{json.dumps(r['answer_cache'])}`."]
    return [*lines, ""]
