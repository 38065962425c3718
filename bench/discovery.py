"""Discovery figures: devices collected per second over SSH against 50 FakeNOS hosts on
loopback, at two concurrency limits; the collector's memory; where the time goes (SSH
connection and login, running the commands, parsing).

The FakeNOS servers run in a child process (``tests/support/fakenos_lab.py``); on a
two-core machine they share the CPU with the collector, so the figures are a floor.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOSTS = 50
PASSWORD_ENV = "MESHQ_BENCH_SSH_PASSWORD"


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _PeakRss:
    """Samples this process's resident memory while a run goes on."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss_mb())

    def __enter__(self) -> _PeakRss:
        self.peak = _rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _spec(port: int, password: str) -> dict[str, Any]:
    from support.discovery_lab import FIXTURES, outputs_of

    _, outputs = outputs_of(FIXTURES / "acc1")
    hosts = []
    for i in range(1, HOSTS + 1):
        name = f"sw{i:02d}"
        hosts.append(
            {
                "name": name,
                "address": f"127.0.2.{i}",
                "port": port,
                "platform": "cisco_ios",
                "username": "bench",
                "password": password,
                "outputs": {c: t.replace("acc1", name) for c, t in outputs.items()},
            }
        )
    return {"hosts": hosts}


def _one_run(targets: list[Any], concurrency: int) -> dict[str, Any]:
    from network_discovery.discovery import DiscoveryOptions, build_snapshot, collect_ssh, discover

    options = DiscoveryOptions(concurrency=concurrency, timeout=30, retries=0)
    before = _rss_mb()
    with _PeakRss() as rss:
        started = time.perf_counter()
        summary = asyncio.run(discover(targets, options, lambda t: collect_ssh(t, timeout=30)))
        elapsed = time.perf_counter() - started
        snapshot = build_snapshot(summary)
    ok = [r for r in summary.results if r.collected]
    n = max(1, len(ok))
    return {
        "concurrency": concurrency,
        "devices": len(targets),
        "collected": len(ok),
        "statuses": summary.counts(),
        "elapsed_s": round(elapsed, 2),
        "devices_per_s": round(len(ok) / elapsed, 2),
        "per_device_ms": {
            "connect_login": round(1000 * sum(r.connect_s for r in ok) / n, 1),
            "commands": round(1000 * sum(r.commands_s for r in ok) / n, 1),
            "parse": round(1000 * sum(r.parse_s for r in ok) / n, 1),
        },
        "rss_mb": {"before": round(before, 1), "peak": round(rss.peak, 1)},
        "snapshot_devices": len(snapshot.devices) if snapshot else 0,
    }


def run(concurrencies: tuple[int, ...] = (10, 25)) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests"))
    from meshq_runtime.embedded import free_port
    from network_discovery.discovery import Credentials, SecretRef, Target
    from support.discovery_lab import serve

    password = os.urandom(8).hex()
    os.environ[PASSWORD_ENV] = password
    port = free_port()
    creds = Credentials(username="bench", password=SecretRef(env=PASSWORD_ENV))
    out: dict[str, Any] = {"hosts": HOSTS, "platform": "cisco_ios", "runs": []}
    with tempfile.TemporaryDirectory(prefix="meshq-bench-discovery-") as tmp:
        _say(f"starting {HOSTS} FakeNOS hosts on 127.0.2.1-{HOSTS}:{port}")
        with serve(_spec(port, password), Path(tmp)):
            targets = [
                Target(
                    address=f"127.0.2.{i}",
                    platform="cisco_ios",
                    name=f"sw{i:02d}",
                    port=port,
                    credentials=creds,
                )
                for i in range(1, HOSTS + 1)
            ]
            for concurrency in concurrencies:
                result = _one_run(targets, concurrency)
                _say(
                    f"concurrency {concurrency}: {result['devices_per_s']} devices/s, "
                    f"{result['statuses']}"
                )
                out["runs"].append(result)
    return out


def markdown(r: dict[str, Any]) -> list[str]:
    lines = [
        f"## Discovery over SSH, {r['hosts']} FakeNOS hosts ({r['platform']}) on loopback",
        "",
        "| concurrency | collected | devices/s | connect+login ms | commands ms | parse ms "
        "| collector RSS MB (before / peak) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run_ in r["runs"]:
        t = run_["per_device_ms"]
        lines.append(
            f"| {run_['concurrency']} | {run_['collected']}/{run_['devices']} "
            f"| {run_['devices_per_s']} | {t['connect_login']} | {t['commands']} | {t['parse']} "
            f"| {run_['rss_mb']['before']} / {run_['rss_mb']['peak']} |"
        )
    lines += [
        "",
        "Per-device times are averages over the devices collected; the FakeNOS servers share "
        "the machine's cores with the collector.",
        "",
    ]
    return lines


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
