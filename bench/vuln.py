"""``python -m bench.vuln``: advisory load and matching figures.

The advisories are the real records of ``tests/fixtures/vuln`` copied under other CVE ids up
to ``--advisories`` records (so each copy carries a real product tree or range list: 180 IOS
and 79 IOS XE releases, 186 IOS XE releases, Junos and EOS ranges). The devices take their
platform and version, round robin, from the lab versions of the fixture README and from
releases the advisories name, so a device has from none to a few hundred findings. Measured:
reading the files, loading the records into the embedded (SQLite) store, reading them back,
and matching every device (``match_devices``), each the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from network_discovery.vuln.load import read_path
from network_discovery.vuln.match import DeviceFacts, match_devices
from network_discovery.vuln.store import SqliteAdvisoryStore

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "vuln"
VERSIONS = [
    ("cisco_ios", "15.2(4)S5", "7206VXR"),
    ("cisco_ios", "15.7(3)M3", "IOSv"),
    ("cisco_ios", "15.2(7)E8", "WS-C2960X-48FPD-L"),
    ("cisco_ios", "15.2(4)E5a", "WS-C2960X-48FPD-L"),
    ("cisco_ios", "16.4.1", "CSR1000V"),
    ("cisco_ios", "17.9.4", "C9300-48P"),
    ("cisco_ios", "17.9.4a", "C9300-48P"),
    ("cisco_nxos", "9.2(3)", "N9K-C9300v"),
    ("cisco_nxos", "10.3(9)", "N9K-C9300v"),
    ("arista_eos", "4.21.1.1F", "vEOS"),
    ("arista_eos", "4.23.0.1F", "vEOS"),
    ("arista_eos", "4.28.3M", "DCS-7280SR-48C6"),
    ("arista_eos", "4.30.4M", "DCS-7280SR-48C6"),
    ("juniper_junos", "17.4R1.16", "vqfx-10000"),
    ("juniper_junos", "21.4R3-S2", "EX4300-48T"),
    ("juniper_junos", "22.4R2-S1", "EX4300-48T"),
]


def _best(func: Any, repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - started)
    return best, result


def run(devices: int, advisories: int, repeat: int) -> dict[str, Any]:
    read_s, report = _best(lambda: read_path(FIXTURES), repeat)
    real = report.records
    copies = [
        r.model_copy(update={"key": f"{r.key}#{i}", "cve": f"{r.cve}-{i}"})
        for i in range(max(1, advisories // len(real)))
        for r in real
    ][:advisories]
    facts = [
        DeviceFacts(
            device=f"dev-{i:05d}",
            platform=VERSIONS[i % len(VERSIONS)][0],
            os_version=VERSIONS[i % len(VERSIONS)][1],
            model=VERSIONS[i % len(VERSIONS)][2],
            settings_source="configuration" if i % 2 else None,
            remote_access=("https", "ssh") if i % 4 == 1 else ("ssh",),
        )
        for i in range(devices)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteAdvisoryStore(Path(tmp) / "advisories.sqlite3")
        started = time.perf_counter()
        asyncio.run(store.load(copies))
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        asyncio.run(store.load(copies))
        reload_s = time.perf_counter() - started
        fresh = SqliteAdvisoryStore(store.path)
        started = time.perf_counter()
        loaded = asyncio.run(fresh.all())
        read_back_s = time.perf_counter() - started
    match_s, findings = _best(lambda: match_devices(facts, loaded), repeat)
    return {
        "devices": devices,
        "advisories": len(copies),
        "findings": len(findings),
        "read_fixture_files_ms": round(read_s * 1000, 1),
        "store_load_ms": round(load_s * 1000, 1),
        "store_reload_unchanged_ms": round(reload_s * 1000, 1),
        "store_read_back_ms": round(read_back_s * 1000, 1),
        "match_all_devices_ms": round(match_s * 1000, 1),
        "match_per_device_us": round(match_s / devices * 1e6, 1),
    }


def markdown(r: dict[str, Any]) -> list[str]:
    """The section of ``bench/results/latest.md``."""
    return [
        f"## Vulnerabilities: {r['devices']} devices, {r['advisories']} advisories",
        "",
        "The advisories are the real records of tests/fixtures/vuln under other CVE ids; the"
        " embedded (SQLite) advisory store; best of the runs.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| read the fixture files | {r['read_fixture_files_ms']} ms |",
        f"| load into the store | {r['store_load_ms']} ms |",
        f"| load again, nothing changed | {r['store_reload_unchanged_ms']} ms |",
        f"| read back | {r['store_read_back_ms']} ms |",
        f"| match every device ({r['findings']} findings) | {r['match_all_devices_ms']} ms"
        f" ({r['match_per_device_us']} µs per device) |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.vuln")
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--advisories", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.devices, args.advisories, args.repeat), indent=2))


if __name__ == "__main__":
    main()
