"""``python -m bench.compliance``: compliance run figures on a synthetic campus.

A campus of ``--devices`` collected switches (two cores, a distribution pair per 40 access
switches, every access switch cabled to both of its pair) is applied to the embedded graph
store; each device is given a real configuration of its platform from the test fixtures
(round robin), kept in the configuration store. Measured: the first run (every device
evaluated), a second run with nothing changed (every device reused), and a run after 1% of
the configurations changed. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from meshq_graph_engine.compliance import ComplianceService, ConfigStore, FileHistory
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot

REAL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "real"
CONFIGS = {
    "cisco_ios": REAL / "routing/mix_vendor_bgp_vrf/D-IOS/show_running-config.txt",
    "arista_eos": REAL / "routing/eos_ceos_ebgp/r1/show_running-config.txt",
    "cisco_nxos": REAL / "routing/nxos_ebgp_loop_prevention/d4_nxos/show_running-config.txt",
    "juniper_junos": REAL
    / "routing/junos_ebgp_loop_prevention/d6/show_configuration_|_display_set.txt",
}
PLATFORMS = list(CONFIGS)


def campus(devices: int) -> Snapshot:
    names: list[tuple[str, str]] = [("core-1", "core"), ("core-2", "core")]
    links: list[tuple[str, str, str, str]] = []
    access = max(1, devices - 2)
    pairs = (access + 39) // 40
    ports: dict[str, int] = {}

    def port(device: str) -> str:
        ports[device] = ports.get(device, 0) + 1
        return f"Ethernet{ports[device]}"

    for p in range(pairs):
        for side in (1, 2):
            dist = f"dist-{p}-{side}"
            names.append((dist, "distribution"))
            for core in ("core-1", "core-2"):
                links.append((dist, port(dist), core, port(core)))
    access_names = [f"acc-{i}" for i in range(max(0, devices - len(names)))]
    for i, name in enumerate(access_names):
        names.append((name, "access"))
        for side in (1, 2):
            dist = f"dist-{i // 40}-{side}"
            links.append((name, port(name), dist, port(dist)))
    interfaces: dict[tuple[str, str], dict[str, Any]] = {}
    for a, ap, b, bp in links:
        for end, end_port in ((a, ap), (b, bp)):
            interfaces[(end, end_port)] = {
                "device": end,
                "name": end_port,
                "mtu": 9214,
                "speed_mbps": 10000,
                "admin_status": "up",
                "oper_status": "up",
                "description": "uplink",
            }
    return Snapshot.model_validate(
        {
            "snapshot_id": f"bench-compliance-{devices}",
            "source": "bench",
            "collected_at": "2026-03-01T08:00:00Z",
            "scope": [{"device": n, "facts": ["device", "interfaces", "links"]} for n, _ in names],
            "devices": [
                {"hostname": n, "role": r, "platform": PLATFORMS[i % len(PLATFORMS)]}
                for i, (n, r) in enumerate(names)
            ],
            "interfaces": list(interfaces.values()),
            "links": [
                {
                    "a": {"device": a, "interface": ap},
                    "b": {"device": b, "interface": bp},
                    "evidence": "lldp_both",
                }
                for a, ap, b, bp in links
            ],
        }
    )


async def measure(devices: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = EmbeddedStore(root / "graph" / "db")
        engine = GraphEngine(store)
        await engine.start()
        snapshot = campus(devices)
        await engine.apply_snapshot(snapshot)
        configs = ConfigStore(root / "configs")
        texts = {p: path.read_text() for p, path in CONFIGS.items()}
        started = time.perf_counter()
        for device in snapshot.devices:
            configs.put(
                device.id,
                texts[device.platform or "cisco_ios"],
                collected_at="2026-03-01T08:00:00+00:00",
                source="bench",
            )
        stored_s = round(time.perf_counter() - started, 3)
        service = ComplianceService(store, FileHistory(root / "runs"), configs, packs_dir="")
        figures: dict[str, Any] = {"devices": len(snapshot.devices), "links": len(snapshot.links)}
        figures["configs_stored_s"] = stored_s
        for label in ("first_run", "unchanged_run"):
            started = time.perf_counter()
            run = await service.run(label)
            figures[f"{label}_s"] = round(time.perf_counter() - started, 3)
            figures[f"{label}_evaluated"] = run["evaluated"]
        changed = [d.id for d in snapshot.devices][::100]
        for name in changed:
            configs.put(name, texts["cisco_ios"] + "\nip http server\n")
        started = time.perf_counter()
        run = await service.run("one_percent")
        figures["one_percent_changed_s"] = round(time.perf_counter() - started, 3)
        figures["one_percent_changed_evaluated"] = run["evaluated"]
        figures["results_per_run"] = sum(run["summary"].values())
        # what the file history keeps: the first run whole, later runs only what changed
        sizes = {p.name: p.stat().st_size for p in (root / "runs").glob("r-*.json.gz")}
        first_file = min(sizes)
        figures["history_first_run_bytes"] = sizes[first_file]
        figures["history_one_percent_run_bytes"] = sizes[f"{run['run_id']}.json.gz"]
        figures["history_bytes"] = sum(sizes.values())
        await store.close()
        return figures


def run(devices: int = 5000) -> dict[str, Any]:
    """The ``compliance`` section of ``make bench``."""
    return asyncio.run(measure(devices))


def markdown(figures: dict[str, Any]) -> list[str]:
    rows = [
        ("configurations stored", "configs_stored_s", None),
        ("first run (every device evaluated)", "first_run_s", "first_run_evaluated"),
        ("run with nothing changed", "unchanged_run_s", "unchanged_run_evaluated"),
        ("run after 1% of configurations changed", "one_percent_changed_s", None),
    ]
    lines = [
        "## Compliance",
        "",
        f"{figures.get('devices')} devices, {figures.get('links')} links, "
        f"{figures.get('results_per_run')} results per run (embedded store, file history).",
        "",
        "| step | seconds | devices evaluated |",
        "|---|---|---|",
    ]
    for label, key, evaluated in rows:
        count = figures.get(evaluated) if evaluated else None
        if key == "one_percent_changed_s":
            count = figures.get("one_percent_changed_evaluated")
        lines.append(f"| {label} | {figures.get(key)} | {'' if count is None else count} |")
    if "history_bytes" in figures:
        lines += [
            "",
            f"File history: first run {figures['history_first_run_bytes']:,} bytes, run after "
            f"1% changed {figures['history_one_percent_run_bytes']:,} bytes, all three "
            f"{figures['history_bytes']:,} bytes.",
        ]
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.devices)), indent=1))


if __name__ == "__main__":
    main()
