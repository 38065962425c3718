"""Firewall figures: path_analysis on the synthetic network with firewalls of many rules, the
rule-evaluation rate, and shadowed-rule analysis time per firewall.

The synthetic campus (``bench.synth``) is given a routed core: /31 addresses on every
distribution-to-core uplink, on each core a /24 route per access subnet towards its
distribution pair (two equal-cost next hops), on each distribution switch a default route to
both cores. ``firewalls`` distribution switches (whole pairs) get a transit zone policy of
``rules`` rules (zones users/core, random subnets of 10.0.0.0/8, TCP/UDP services, a quarter
deny) and a default deny. Flows run between hosts behind firewalled pairs, so each path
crosses two firewalls on each of its eight equal-cost branches.

The first path_analysis call reads and compiles the whole view; then a change is applied (1%
of the access switches re-collected, one firewall's policy with one rule flipped) and the
first call after it (the view brought up to date from the change) and the calls after that
are timed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["markdown", "run"]

_ROOT = Path(__file__).resolve().parent.parent

_PORTS = [22, 53, 80, 123, 443, 3306, 5432, 8080, 8443]


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _net(rng: random.Random) -> str:
    length = rng.choice([16, 20, 24, 24, 26, 28, 32, 32])
    return str(ipaddress.ip_network((0x0A000000 | rng.randrange(1 << 24), length), strict=False))


def _rules(device: str, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` rules: random ones, then a last permit for HTTPS between the zones (so the
    benchmark's flows cross every rule of every firewall on their way)."""
    out = []
    for n in range(1, count):
        proto = rng.choice(["tcp", "tcp", "tcp", "udp"])
        port = rng.choice(_PORTS)
        src, dst = rng.choice([["users"], ["core"]]), rng.choice([["users"], ["core"]])
        out.append(
            {
                "device": device,
                "ruleset": "policy",
                "position": n,
                "name": f"rule-{n:05d}",
                "action": "deny" if rng.random() < 0.25 else "permit",
                "src_zones": src,
                "dst_zones": dst,
                "sources": [_net(rng) for _ in range(rng.choice([1, 1, 2, 3]))],
                "destinations": [_net(rng) for _ in range(rng.choice([1, 1, 2]))],
                "services": [{"protocol": proto, "dst_ports": [port]}],
                "text": f"rule-{n:05d} {proto}/{port}",
            }
        )
    out.append(
        {
            "device": device,
            "ruleset": "policy",
            "position": count,
            "name": "allow-https",
            "action": "permit",
            "services": [{"protocol": "tcp", "dst_ports": [443]}],
            "text": "allow-https",
        }
    )
    return out


def augment(net: Any, firewalls: int, rules: int, seed: int = 3) -> tuple[Any, list[str]]:
    """The network's snapshot with a routed core, routes and ``firewalls`` policies."""
    from network_discovery.model import Snapshot

    rng = random.Random(seed)
    data = net.data
    uplinks = [
        (n["device"], n["interface"], n["remote_system_name"], n["remote_port"])
        for n in data["neighbors"]
        if n["device"].startswith("dist-") and n["remote_system_name"].startswith("core-")
    ]
    p2p = ipaddress.IPv4Network("172.16.0.0/12").subnets(new_prefix=31)
    addr: dict[tuple[str, str], str] = {}
    for dist, dport, core, cport in uplinks:
        link = next(p2p)
        addr[(core, cport)] = str(link.network_address)
        addr[(dist, dport)] = str(link.broadcast_address)
        for dev, port, ip in ((core, cport, link[0]), (dist, dport, link[1])):
            data["ip_addresses"].append({"device": dev, "interface": port, "address": f"{ip}/31"})
    gateways: dict[str, list[str]] = {}
    for a in data["ip_addresses"]:
        if a["device"].startswith("dist-") and a["interface"].startswith("Vlan"):
            gateways.setdefault(str(ipaddress.ip_interface(a["address"]).network), []).append(
                a["device"]
            )
    toward = {(dist, core): addr[(dist, dport)] for dist, dport, core, _ in uplinks}
    back = {(dist, core): addr[(core, cport)] for dist, _, core, cport in uplinks}
    routes = []
    for core in ("core-01", "core-02"):
        for subnet, dists in gateways.items():
            hops = [{"address": toward[(d, core)]} for d in sorted(dists) if (d, core) in toward]
            routes.append({"device": core, "prefix": subnet, "protocol": "ospf", "next_hops": hops})
    dists = sorted({d for d, _, _, _ in uplinks})
    for d in dists:
        hops = [{"address": back[(d, c)]} for c in ("core-01", "core-02") if (d, c) in back]
        routes.append({"device": d, "prefix": "0.0.0.0/0", "protocol": "ospf", "next_hops": hops})
    data["routes"] = routes
    chosen = dists[:firewalls]
    data["firewall_zones"], data["firewall_rulesets"], data["firewall_rules"] = [], [], []
    ifaces: dict[str, list[str]] = {}
    for i in data["interfaces"]:
        ifaces.setdefault(i["device"], []).append(i["name"])
    for d in chosen:
        names = ifaces.get(d, [])
        data["firewall_zones"] += [
            {
                "device": d,
                "name": "users",
                "interfaces": [n for n in names if n.startswith("Vlan")],
            },
            {"device": d, "name": "core", "interfaces": [p for x, p, _, _ in uplinks if x == d]},
        ]
        data["firewall_rulesets"].append(
            {
                "device": d,
                "name": "policy",
                "kind": "zone_policy",
                "default_action": "deny",
                "bindings": [{"direction": "transit"}],
            }
        )
        data["firewall_rules"] += _rules(d, rules, rng)
    fw = set(chosen)
    for entry in data["scope"]:
        if entry["device"].startswith(("core-", "dist-")):
            entry["facts"] = [*entry["facts"], "routes"]
        if entry["device"] in fw:
            entry["facts"] = [*entry["facts"], "firewall"]
    return Snapshot.model_validate(data), chosen


async def _measure(devices: int, firewalls: int, rules: int, flows: int) -> dict[str, Any]:
    from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
    from meshq_graph_engine.engine import GraphEngine
    from meshq_runtime.graph.store import EmbeddedStore

    from bench.synth import generate

    out: dict[str, Any] = {"devices": devices, "firewalls": firewalls, "rules_each": rules}
    started = time.perf_counter()
    net = generate(devices)
    snapshot, chosen = augment(net, firewalls, rules)
    out["generate_s"] = round(time.perf_counter() - started, 2)
    _say(f"generated {devices} devices, {firewalls} firewalls x {rules} rules")
    rng = random.Random(9)
    fw = set(chosen)
    behind = [ip for ip in net.ips if any(d in fw for d in _gateway_pair(net, ip))]
    with tempfile.TemporaryDirectory(prefix="meshq-bench-fw-") as tmp:
        store = EmbeddedStore(Path(tmp) / "graph")
        engine = GraphEngine(store)
        await engine.start()
        started = time.perf_counter()
        await engine.apply_snapshot(snapshot)
        out["ingest_s"] = round(time.perf_counter() - started, 2)
        _say(f"ingest {out['ingest_s']}s")
        ctx = QueryContext(store, engine)

        def flow() -> dict[str, Any]:
            src, dst = rng.sample(behind, 2)
            return {"source": src, "destination": dst, "protocol": "tcp", "port": 443}

        started = time.perf_counter()
        first = await run_query(REGISTRY, "path_analysis", flow(), ctx)
        out["path_analysis_cold_ms"] = round((time.perf_counter() - started) * 1000, 1)
        timings: list[float] = []
        branches: list[int] = []
        verdicts: dict[str, int] = {}
        for _ in range(flows):
            result = await run_query(REGISTRY, "path_analysis", flow(), ctx)
            timings.append(result.elapsed_ms)
            branches.append(len(result.rows))
            verdict = result.rows[0]["verdict"]
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
        out["path_analysis"] = {
            "runs": flows,
            "p50_ms": _pct(timings, 0.5),
            "p95_ms": _pct(timings, 0.95),
            "branches_mean": round(sum(branches) / len(branches), 1),
            "verdicts": verdicts,
            "first_rows": len(first.rows),
        }
        _say(f"path_analysis {out['path_analysis']}")
        out["after_change"] = await _after_change(net, chosen, engine, ctx, flow, flows)
        _say(f"path_analysis after a change {out['after_change']}")
        started = time.perf_counter()
        shadow = await run_query(REGISTRY, "shadowed_rules", {"device": chosen[0]}, ctx)
        out["shadowed_rules_one_device_s"] = round(time.perf_counter() - started, 2)
        out["shadowed_rules_found"] = len(shadow.rows)
        await store.close()
        samples = [flow() for _ in range(flows + 1)]
        out["from_nothing"] = _from_nothing(Path(tmp) / "graph", samples, warm=False)
        _say(f"path_analysis in a fresh process {out['from_nothing']}")
        out["from_nothing_warmed"] = _from_nothing(Path(tmp) / "graph", samples, warm=True)
        _say(f"path_analysis in a fresh process, warmed up {out['from_nothing_warmed']}")
    out["evaluation"] = _evaluation_rate(rules)
    _say(f"evaluation {out['evaluation']}")
    return out


async def _after_change(
    net: Any, chosen: list[str], engine: Any, ctx: Any, flow: Any, flows: int
) -> dict[str, Any]:
    """A change (1% of the access switches re-collected, one firewall's policy with one rule
    flipped), then path_analysis's first call and its next ``flows`` calls."""
    from meshq_graph_engine.catalogue import REGISTRY, run_query
    from meshq_graph_engine.firewall._live import live_view
    from network_discovery.model import Snapshot

    from bench.synth import incremental_change

    await engine.apply_snapshot(incremental_change(net, 0.01))
    data = net.data
    device = chosen[0]
    rules = [dict(r) for r in data["firewall_rules"] if r["device"] == device]
    rules[0]["action"] = "permit" if rules[0]["action"] == "deny" else "deny"
    when = datetime.fromisoformat(data["collected_at"]) + timedelta(hours=2)
    mine = {k: [x for x in data[k] if x["device"] == device] for k in _DEVICE_FACTS}
    await engine.apply_snapshot(
        Snapshot.model_validate(
            {
                "snapshot_id": f"{data['snapshot_id']}-fw-change",
                "source": "bench",
                "collected_at": when.isoformat(),
                "scope": [s for s in data["scope"] if s["device"] == device],
                "devices": [d for d in data["devices"] if d["hostname"] == device],
                **mine,
                "firewall_rules": rules,
            }
        )
    )
    started = time.perf_counter()
    await run_query(REGISTRY, "path_analysis", flow(), ctx)
    first_ms = round((time.perf_counter() - started) * 1000, 1)
    live = live_view(ctx.store, engine)
    how, built, compiled = live.last, live.last_compiled, live.last_rules_compiled
    timings = [
        (await run_query(REGISTRY, "path_analysis", flow(), ctx)).elapsed_ms for _ in range(flows)
    ]
    return {
        "first_ms": first_ms,
        "how": how,
        "rule_sets_built": built,
        "rules_compiled": compiled,
        "p50_ms": _pct(timings, 0.5),
        "p95_ms": _pct(timings, 0.95),
    }


#: The facts of one device a snapshot of it carries again (with its scope's kinds).
_DEVICE_FACTS = (
    "interfaces",
    "ip_addresses",
    "neighbors",
    "mac_table",
    "arp",
    "vlans",
    "routes",
    "firewall_zones",
    "firewall_rulesets",
)


def _from_nothing(path: Path, samples: list[dict[str, Any]], *, warm: bool) -> dict[str, Any]:
    """path_analysis in a fresh process over the store as ingested: the engine started (the
    graph loaded), then the first call and the calls after it; ``warm``: as the service
    starts, with the view read and compiled in the background right after the graph loads,
    the first call made once that is done."""
    with tempfile.TemporaryDirectory(prefix="meshq-bench-fw-cold-") as tmp:
        given = Path(tmp) / "flows.json"
        given.write_text(json.dumps(samples))
        command = [sys.executable, "-m", "bench.firewall", str(path), str(given)]
        subprocess.run([*command, "warm" if warm else "cold"], check=True, cwd=_ROOT)
        result: dict[str, Any] = json.loads((Path(tmp) / "result.json").read_text())
    return result


async def _fresh(path: Path, samples: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    """The child of :func:`_from_nothing`."""
    from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
    from meshq_graph_engine.engine import GraphEngine
    from meshq_graph_engine.firewall import warm_up
    from meshq_graph_engine.firewall._live import live_view
    from meshq_runtime.graph.store import EmbeddedStore

    store = EmbeddedStore(path)
    engine = GraphEngine(store)
    started = time.perf_counter()
    await engine.start()
    out: dict[str, Any] = {"engine_start_s": round(time.perf_counter() - started, 2)}
    ctx = QueryContext(store, engine)
    if mode == "warm":
        started = time.perf_counter()
        stop = warm_up(store, engine)
        await live_view(store, engine).ready()
        out["warm_up_s"] = round(time.perf_counter() - started, 2)
    started, cpu = time.perf_counter(), time.process_time()
    await run_query(REGISTRY, "path_analysis", samples[0], ctx)
    out["first_ms"] = round((time.perf_counter() - started) * 1000, 1)
    out["first_cpu_ms"] = round((time.process_time() - cpu) * 1000, 1)
    timings = [(await run_query(REGISTRY, "path_analysis", f, ctx)).elapsed_ms for f in samples[1:]]
    out.update(p50_ms=_pct(timings, 0.5), p95_ms=_pct(timings, 0.95), max_ms=max(timings))
    if mode == "warm":
        await stop()
    await store.close()
    return out


def _gateway_pair(net: Any, ip: str) -> list[str]:
    index = int(ipaddress.ip_address(ip)) - 0x0A000000 >> 8
    pairs = max(1, net.snapshot.counts()["devices"] // 100)
    per_pair = max(1, -(-len(net.access) // pairs))
    pair = min(index // per_pair, pairs - 1)
    return [f"dist-{pair:03d}-1", f"dist-{pair:03d}-2"]


def _evaluation_rate(rules: int, flows: int = 2000) -> dict[str, Any]:
    """First-match evaluation of random flows against one compiled rule set."""
    from meshq_graph_engine.firewall import RuleSet, make_flow
    from meshq_graph_engine.firewall._load import compile_rule

    rng = random.Random(4)
    rows = []
    for r in _rules("fw", rules, rng):
        services = [f"{s['protocol']} dst {s['dst_ports'][0]}" for s in r["services"]]
        r.setdefault("src_zones", [])
        r.setdefault("dst_zones", [])
        rows.append({**r, "services": services})
    started = time.perf_counter()
    compiled = RuleSet("fw", "policy", "deny", [compile_rule(r) for r in rows])
    compile_s = time.perf_counter() - started
    sample = [
        make_flow(
            str(ipaddress.ip_address(0x0A000000 | rng.randrange(1 << 24))),
            str(ipaddress.ip_address(0x0A000000 | rng.randrange(1 << 24))),
            "tcp",
            rng.choice(_PORTS),
            src_zone="users",
            dst_zone="core",
        )
        for _ in range(flows)
    ]
    tested = reached = 0
    started = time.perf_counter()
    for f in sample:
        decision = compiled.evaluate(f)
        tested += decision.evaluated
        reached += decision.reached
    elapsed = time.perf_counter() - started
    return {
        "rules": rules,
        "flows": flows,
        "compile_ms": round(compile_s * 1000, 1),
        # first-match rules decided per second: the rules a plain scan would pass
        "rules_per_s": round(reached / elapsed),
        "tested_per_flow": round(tested / flows, 1),
        "flows_per_s": round(flows / elapsed),
        "flow_p_mean_ms": round(elapsed / flows * 1000, 3),
    }


def run(devices: int, firewalls: int = 20, rules: int = 5000, flows: int = 100) -> dict[str, Any]:
    return asyncio.run(_measure(devices, firewalls, rules, flows))


def markdown(r: dict[str, Any]) -> list[str]:
    p = r["path_analysis"]
    e = r["evaluation"]
    return [
        f"## Firewall: {r['devices']} devices, {r['firewalls']} firewalls of "
        f"{r['rules_each']} rules",
        "",
        "| figure | value |",
        "|---|---|",
        f"| ingest (with rules and routes) | {r['ingest_s']} s |",
        f"| path_analysis first call (loads and compiles the view) | "
        f"{r['path_analysis_cold_ms']} ms |",
        f"| path_analysis p50 / p95 ({p['runs']} flows, {p['branches_mean']} branches each) | "
        f"{p['p50_ms']} / {p['p95_ms']} ms |",
        f"| verdicts | {', '.join(f'{k} {v}' for k, v in sorted(p['verdicts'].items()))} |",
        f"| rule evaluation ({e['rules']}-rule set, first match) | {e['rules_per_s']:,} rules/s "
        f"({e['flows_per_s']:,} flows/s; the destination index tests {e['tested_per_flow']} "
        "rules per flow) |",
        f"| compile a {e['rules']}-rule set | {e['compile_ms']} ms |",
        *(
            [
                f"| path_analysis first call after a change (1% of access switches, one "
                f"firewall's rule) | {a['first_ms']} ms (view {a['how']}: "
                f"{a['rule_sets_built']} rule set built again, {a['rules_compiled']} rule "
                "compiled) |",
                f"| path_analysis p50 / p95 after it | {a['p50_ms']} / {a['p95_ms']} ms |",
            ]
            if (a := r.get("after_change"))
            else []
        ),
        *(
            [
                f"| path_analysis in a fresh process (engine started, store loaded: "
                f"{c['engine_start_s']} s): first call | {c['first_ms']} ms "
                f"({c['first_cpu_ms']} ms CPU) |",
                f"| then p50 / p95 / max ({p['runs']} flows) | {c['p50_ms']} / {c['p95_ms']} / "
                f"{c['max_ms']} ms |",
            ]
            if (c := r.get("from_nothing"))
            else []
        ),
        *(
            [
                f"| the same, view read and compiled in the background at start "
                f"({w['warm_up_s']} s): first call | {w['first_ms']} ms |",
                f"| then p50 / p95 / max | {w['p50_ms']} / {w['p95_ms']} / {w['max_ms']} ms |",
            ]
            if (w := r.get("from_nothing_warmed"))
            else []
        ),
        f"| shadowed_rules, one {r['rules_each']}-rule firewall | "
        f"{r['shadowed_rules_one_device_s']} s ({r['shadowed_rules_found']} found) |",
        "",
    ]


if __name__ == "__main__":
    _given = Path(sys.argv[2])
    _out = asyncio.run(_fresh(Path(sys.argv[1]), json.loads(_given.read_text()), sys.argv[3]))
    (_given.parent / "result.json").write_text(json.dumps(_out))
