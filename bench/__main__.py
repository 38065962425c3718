"""``python -m bench``: ingest and query figures on a synthetic network, on LadybugDB, plus
the query gateway's throughput and overhead and the audit chain / SOAR figures on a real stack.

Writes ``bench/results/latest.json`` and ``bench/results/latest.md``. The default size is the
one the project reports (10,000 devices); ``--devices`` picks another. The graph section also
runs the smaller sizes of ``--sizes`` (by default 1,000, 5,000 and 10,000 where below
``--devices``), each in processes of its own, and prints how every figure grows per device.
``--only`` runs some of the sections (graph, store, gateway, audit, firewall, blast,
discovery); the sections not run are kept from the previous results. Every run is added to the
report's run history: when, the machine, the sections and the scale.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


SECTIONS = (
    "graph",
    "store",
    "gateway",
    "audit",
    "firewall",
    "blast",
    "discovery",
    "flows",
    "fabric",
    "compliance",
    "ui",
    "vuln",
)
KEYS = {
    "graph": "graph_engine",
    "store": "store_writes",
    "gateway": "query_gateway",
    "audit": "audit_soar",
    "firewall": "firewall",
    "blast": "blast_radius",
    "discovery": "discovery",
    "flows": "flows",
    "fabric": "fabric",
    "compliance": "compliance",
    "ui": "web_ui",
    "vuln": "vulnerabilities",
}


#: Runs kept in the report's history.
HISTORY = 200


def _machine() -> dict[str, Any]:
    """The machine a run measured on."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = 0.0
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "arch": platform.machine(),
        "system": platform.platform(terse=True),
    }


def _machine_text(m: dict[str, Any]) -> str:
    return (
        f"{m['cpus']} CPUs, {m['memory_gb']} GB memory, {m['arch']}, {m['system']},"
        f" Python {m['python']}"
    )


def _history_markdown(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Runs (newest first)",
        "",
        "| when | sections | scale | machine |",
        "|---|---|---|---|",
    ]
    for run in reversed(runs):
        machine = run["machine"]
        text = machine if isinstance(machine, str) else _machine_text(machine)
        scale = ", ".join(f"{k} {v}" for k, v in run.get("scale", {}).items()) or "-"
        lines.append(f"| {run['when']} | {', '.join(run['sections'])} | {scale} | {text} |")
    return [*lines, ""]


def _markdown(report: dict[str, Any]) -> str:
    from bench import (
        audit,
        blast,
        discovery,
        fabric,
        firewall,
        flows,
        gateway,
        graph,
        store_writes,
    )

    machine = report["machine"]
    machine = machine if isinstance(machine, str) else _machine_text(machine)
    lines = [f"# Benchmark ({report['when']})", "", f"Machine: {machine}", ""]
    if "graph_engine" in report:
        lines += [*graph.markdown(report["graph_engine"]), ""]
    if "store_writes" in report:
        lines += store_writes.markdown(report["store_writes"])
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
    if "flows" in report:
        lines += flows.markdown(report["flows"])
    if "fabric" in report:
        lines += fabric.markdown(report["fabric"])
    if "compliance" in report:
        from bench import compliance

        lines += compliance.markdown(report["compliance"])
    if "web_ui" in report:
        from bench import ui

        lines += ui.markdown(report["web_ui"])
    if "vulnerabilities" in report:
        from bench import vuln

        lines += vuln.markdown(report["vulnerabilities"])
    lines += _history_markdown(report.get("runs", []))
    return "\n".join(lines).rstrip("\n") + "\n"


def _run_record(
    when: str, only: set[str], args: argparse.Namespace, sizes: list[int]
) -> dict[str, Any]:
    """One run in the history: when, where, what and at which scale."""
    scale: dict[str, Any] = {}
    if "graph" in only:
        scale["devices"] = args.devices
        scale["sizes"] = ",".join(str(n) for n in sizes)
        if args.graph_writes != "default":
            scale["store writes"] = args.graph_writes
    if "store" in only:
        scale["store rows"] = args.store_rows
    if "compliance" in only:
        scale["compliance devices"] = args.compliance_devices
    if "firewall" in only:
        scale["firewall devices"] = args.devices
    if "blast" in only:
        scale["blast devices"] = args.blast_devices or args.devices
    if "gateway" in only:
        scale["gateway requests"] = args.gateway_requests
    if "audit" in only:
        scale["audit events"] = args.audit_events
    if "fabric" in only:
        from bench.fabric import GPUS, HOSTS_PER_LEAF, LEAVES

        scale["fabric GPUs"] = LEAVES * HOSTS_PER_LEAF * GPUS
    sections = [name for name in SECTIONS if name in only]
    return {"when": when, "machine": _machine(), "sections": sections, "scale": scale}


def _merged(
    path: Path, when: str, only: set[str], fresh: dict[str, Any], record: dict[str, Any]
) -> dict[str, Any]:
    """The report at ``path`` with this run's sections (``fresh``) and its record added."""
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    sections = report.setdefault("sections_when", {})
    for name in SECTIONS:  # when each kept section was measured
        if KEYS[name] in report:
            sections.setdefault(name, report.get("when", "earlier"))
    runs = report.setdefault("runs", [])
    if not runs:  # a report from before the history was kept: its runs, as far as known
        for earlier in sorted(set(sections.values())):
            kept = [name for name in SECTIONS if sections.get(name) == earlier]
            runs.append({"when": earlier, "machine": report["machine"], "sections": kept})
    runs[:] = [*runs, record][-HISTORY:]
    report["when"] = when
    report["machine"] = _machine()
    report.update(fresh)
    for name in only:
        sections[name] = when
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument(
        "--sizes",
        default=None,
        help="graph section: more sizes to run for the growth table, comma-separated"
        " (default: 1000,5000,10000 where below --devices; '' for none)",
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--graph-writes",
        choices=("default", "unwind"),
        default="default",
        help="graph section: 'unwind' sends every store write through UNWIND batches (to compare)",
    )
    parser.add_argument(
        "--store-rows",
        default="10000,100000,500000",
        help="store section: rows per create, comma-separated",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this section (repeatable); default: all of them",
    )
    parser.add_argument("--gateway-requests", type=int, default=500)
    parser.add_argument("--audit-events", type=int, default=10_000)
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
    parser.add_argument(
        "--flow-datagrams", type=int, default=5000, help="flows: datagrams of 30 records each"
    )
    parser.add_argument(
        "--flows-100m",
        action="store_true",
        help="flows: also store and query 100 million flows (well over 10 minutes)",
    )
    parser.add_argument(
        "--compliance-devices", type=int, default=5000, help="compliance: devices in the campus"
    )
    parser.add_argument(
        "--ui-devices", type=int, default=None, help="ui: network size for the map (--devices)"
    )
    parser.add_argument("--ui-repeats", type=int, default=5, help="ui: page loads timed")
    args = parser.parse_args()
    only = set(args.only or SECTIONS)
    from bench import graph

    sizes = graph.sizes_for(args.devices, args.sizes)
    when = datetime.now(UTC).isoformat(timespec="seconds")
    fresh: dict[str, Any] = {}  # this run's sections, by report key
    if "graph" in only:
        fresh["graph_engine"] = graph.run(args.devices, sizes, args.repeats, args.graph_writes)
    if "store" in only:
        from bench import store_writes

        rows = tuple(int(n) for n in args.store_rows.split(",") if n.strip())
        fresh["store_writes"] = store_writes.run(sizes=rows)
    if "gateway" in only:
        from bench import gateway

        fresh["query_gateway"] = gateway.run(
            sequential=args.gateway_requests, concurrent=args.gateway_requests
        )
    if "audit" in only:
        from bench import audit

        fresh["audit_soar"] = audit.run(events=args.audit_events, queries=args.soar_queries)
    if "firewall" in only:
        from bench import firewall

        fresh["firewall"] = firewall.run(
            args.devices, args.firewalls, args.firewall_rules, args.path_flows
        )
    if "blast" in only:
        from bench import blast

        fresh["blast_radius"] = blast.run(
            args.blast_devices or args.devices, args.blast_repeats, args.blast_networkx_repeats
        )
    if "discovery" in only:
        from bench import discovery

        fresh["discovery"] = discovery.run()
    if "flows" in only:
        from bench import flows

        fresh["flows"] = flows.run(args.flow_datagrams, flows.sizes_for(args.flows_100m))
    if "fabric" in only:
        from bench import fabric

        fresh["fabric"] = fabric.run(args.repeats)
    if "compliance" in only:
        from bench import compliance

        fresh["compliance"] = compliance.run(args.compliance_devices)
    if "ui" in only:
        from bench import ui

        fresh["web_ui"] = ui.run(args.ui_devices or args.devices, args.ui_repeats)
    if "vuln" in only:
        from bench import vuln

        fresh["vulnerabilities"] = vuln.run(args.devices, advisories=1000, repeat=3)
    args.output.mkdir(parents=True, exist_ok=True)
    # runs of other sections may finish meanwhile: merge into the report as it is now
    with open(args.output / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        report = _merged(
            args.output / "latest.json", when, only, fresh, _run_record(when, only, args, sizes)
        )
        (args.output / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.output / "latest.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
