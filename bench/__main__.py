"""``python -m bench``: ingest and query figures on a synthetic network, on LadybugDB, plus
the query gateway's throughput and overhead and the audit chain / SOAR figures on a real stack.

Writes ``bench/results/latest.json`` and ``bench/results/latest.md``. The default size is the
one the project reports (10,000 devices); ``--devices`` picks another. ``--only`` runs some of
the sections (graph, gateway, audit, firewall, blast, discovery); the sections not run are kept
from the previous results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _params_for(query: Any, net: Any, rng: random.Random) -> dict[str, Any]:
    """Plausible parameters for any catalogue query, chosen by parameter name."""
    device = rng.choice(net.access)
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
        "source": rng.choice(net.ips),
        "destination": rng.choice(net.ips),
        "protocol": "tcp",
        "port": 443,
    }
    fields = query.params.model_fields
    params = {name: values[name] for name in fields if name in values}
    if query.writes:
        params.setdefault("rack", f"R{rng.randint(1, 40)}")
    return params


async def _run(devices: int, repeats: int) -> dict[str, Any]:
    from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
    from meshq_graph_engine.engine import GraphEngine
    from meshq_runtime.graph.store import EmbeddedStore

    from bench.synth import generate, incremental_change

    out: dict[str, Any] = {"devices": devices}
    started = time.perf_counter()
    net = generate(devices)
    out["generate_s"] = round(time.perf_counter() - started, 2)
    out["counts"] = net.snapshot.counts()
    _say(f"generated {devices} devices in {out['generate_s']}s: {out['counts']}")
    with tempfile.TemporaryDirectory(prefix="meshq-bench-") as tmp:
        store = EmbeddedStore(Path(tmp) / "graph")
        engine = GraphEngine(store)
        await engine.start()
        started = time.perf_counter()
        full = await engine.apply_snapshot(net.snapshot)
        out["full_ingest_s"] = round(time.perf_counter() - started, 2)
        out["graph"] = {k: len(v) for k, v in engine.projection.nodes.items()}
        out["graph"]["links"] = len(engine.projection.rels.get("CONNECTED_TO", {}))
        _say(f"full ingest {out['full_ingest_s']}s: {full.added}")
        change = incremental_change(net)
        started = time.perf_counter()
        incr = await engine.apply_snapshot(change)
        out["incremental_ingest_s"] = round(time.perf_counter() - started, 2)
        out["incremental"] = {
            "scope_devices": len(change.scope),
            "added": incr.added,
            "removed": incr.removed,
            "updated": incr.updated,
        }
        _say(f"incremental (1%) {out['incremental_ingest_s']}s")
        rng = random.Random(5)
        ctx = QueryContext(store, engine)
        queries: dict[str, Any] = {}
        for name, query in sorted(REGISTRY.items()):
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
            _say(f"{name}: {queries[name]}")
        out["queries"] = queries
        await store.close()
    return out


SECTIONS = ("graph", "gateway", "audit", "firewall", "blast", "discovery")
KEYS = {
    "graph": "graph_engine",
    "gateway": "query_gateway",
    "audit": "audit_soar",
    "firewall": "firewall",
    "blast": "blast_radius",
    "discovery": "discovery",
}


def _markdown(report: dict[str, Any]) -> str:
    from bench import audit, blast, discovery, firewall, gateway

    lines = [f"# Benchmark ({report['when']})", "", f"Machine: {report['machine']}", ""]
    if "graph_engine" in report:
        lines += [*_graph_markdown(report), ""]
    if "query_gateway" in report:
        lines += gateway.markdown(report["query_gateway"])
    if "audit_soar" in report:
        lines += audit.markdown(report["audit_soar"])
    if "firewall" in report:
        lines += firewall.markdown(report["firewall"])
    if "blast_radius" in report:
        lines += blast.markdown(report["blast_radius"])
    if "discovery" in report:
        lines += discovery.markdown(report["discovery"])
    return "\n".join(lines).rstrip("\n") + "\n"


def _graph_markdown(report: dict[str, Any]) -> list[str]:
    r = report["graph_engine"]
    lines = [
        f"## Graph engine on LadybugDB, {r['devices']} devices",
        "",
        "| figure | value |",
        "|---|---|",
        f"| graph | {', '.join(f'{v} {k}' for k, v in sorted(r['graph'].items()))} |",
        f"| full ingest | {r['full_ingest_s']} s |",
        f"| incremental ingest (1% of devices) | {r['incremental_ingest_s']} s |",
        "",
        "| query | p50 ms | p95 ms | runs |",
        "|---|---|---|---|",
    ]
    for name, q in r["queries"].items():
        if "error" in q:
            lines.append(f"| {name} | error: {q['error']} | | |")
        else:
            lines.append(f"| {name} | {q['p50_ms']} | {q['p95_ms']} | {q['runs']} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this section (repeatable); default: all of them",
    )
    parser.add_argument("--gateway-requests", type=int, default=500)
    parser.add_argument("--audit-events", type=int, default=2000)
    parser.add_argument("--soar-queries", type=int, default=50)
    parser.add_argument("--firewalls", type=int, default=20, help="firewall section")
    parser.add_argument("--firewall-rules", type=int, default=5000, help="rules per firewall")
    parser.add_argument("--path-flows", type=int, default=100, help="path_analysis flows")
    parser.add_argument(
        "--blast-devices", type=int, default=None, help="network size for blast (--devices)"
    )
    parser.add_argument("--blast-repeats", type=int, default=10)
    parser.add_argument(
        "--blast-networkx-repeats", type=int, default=1, help="runs of the networkx baseline"
    )
    args = parser.parse_args()
    only = set(args.only or SECTIONS)
    previous = args.output / "latest.json"
    report: dict[str, Any] = json.loads(previous.read_text()) if previous.exists() else {}
    when = datetime.now(UTC).isoformat(timespec="seconds")
    sections = report.setdefault("sections_when", {})
    for name in SECTIONS:  # when each kept section was measured
        if KEYS[name] in report:
            sections.setdefault(name, report.get("when", "earlier"))
    report["when"] = when
    report["machine"] = f"{platform.machine()} {platform.python_version()}"
    if "graph" in only:
        report["graph_engine"] = asyncio.run(_run(args.devices, args.repeats))
        sections["graph"] = when
    if "gateway" in only:
        from bench import gateway

        report["query_gateway"] = gateway.run(
            sequential=args.gateway_requests, concurrent=args.gateway_requests
        )
        sections["gateway"] = when
    if "audit" in only:
        from bench import audit

        report["audit_soar"] = audit.run(events=args.audit_events, queries=args.soar_queries)
        sections["audit"] = when
    if "firewall" in only:
        from bench import firewall

        report["firewall"] = firewall.run(
            args.devices, args.firewalls, args.firewall_rules, args.path_flows
        )
        sections["firewall"] = when
    if "blast" in only:
        from bench import blast

        report["blast_radius"] = blast.run(
            args.blast_devices or args.devices, args.blast_repeats, args.blast_networkx_repeats
        )
        sections["blast"] = when
    if "discovery" in only:
        from bench import discovery

        report["discovery"] = discovery.run()
        sections["discovery"] = when
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output / "latest.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
