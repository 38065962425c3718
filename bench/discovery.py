"""Discovery figures: devices collected per second over SSH against FakeNOS hosts on
loopback (Cisco IOS, the lab's access-switch outputs), for several inventory sizes and
concurrency limits; the most sessions in flight at once; the collector's memory; where a
device's time goes (SSH connection, login and session setup; running the commands; parsing).

The FakeNOS servers run in a child process (``tests/support/fakenos_lab.py``); on a
two-core machine they share the CPU with the collector, so the figures are a floor. A run
is the whole of ``discover()``: collection and parsing, as ``meshq discover`` does it.

``python -m bench.discovery --hosts 50 200 --concurrency 10 25 100`` prints the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOSTS = (50, 200)
CONCURRENCY = (10, 25, 100)
PASSWORD_ENV = "MESHQ_BENCH_SSH_PASSWORD"
#: Per-step timeout of the runs (seconds).
TIMEOUT = 30.0


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


def _address(i: int) -> str:
    return f"127.0.{2 + (i - 1) // 250}.{1 + (i - 1) % 250}"


def _spec(hosts: int, port: int, password: str) -> dict[str, Any]:
    from support.discovery_lab import FIXTURES, outputs_of

    _, outputs = outputs_of(FIXTURES / "acc1")
    spec = []
    for i in range(1, hosts + 1):
        name = f"sw{i:03d}"
        spec.append(
            {
                "name": name,
                "address": _address(i),
                "port": port,
                "platform": "cisco_ios",
                "username": "bench",
                "password": password,
                "outputs": {c: t.replace("acc1", name) for c, t in outputs.items()},
            }
        )
    return {"hosts": spec}


def _one_run(targets: list[Any], concurrency: int) -> dict[str, Any]:
    from network_discovery.discovery import DiscoveryOptions, build_snapshot, collect_ssh, discover

    options = DiscoveryOptions(concurrency=concurrency, timeout=TIMEOUT, retries=0)

    async def collect(target: Any) -> Any:
        return await collect_ssh(target, timeout=TIMEOUT)

    before = _rss_mb()
    with _PeakRss() as rss:
        started = time.perf_counter()
        summary = asyncio.run(discover(targets, options, collect))
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
        "peak_in_flight": summary.peak_in_flight,
        "per_device_ms": {
            "connect_login": round(1000 * sum(r.connect_s for r in ok) / n, 1),
            "commands": round(1000 * sum(r.commands_s for r in ok) / n, 1),
            "parse": round(1000 * sum(r.parse_s for r in ok) / n, 1),
        },
        "rss_mb": {"before": round(before, 1), "peak": round(rss.peak, 1)},
        "snapshot_devices": len(snapshot.devices) if snapshot else 0,
    }


def run(
    hosts: tuple[int, ...] = HOSTS, concurrencies: tuple[int, ...] = CONCURRENCY
) -> dict[str, Any]:
    """Every (hosts, concurrency) pair against one lab of ``max(hosts)`` FakeNOS hosts."""
    sys.path.insert(0, str(ROOT / "tests"))
    from meshq_runtime.embedded import free_port
    from network_discovery.discovery import Credentials, SecretRef, Target
    from support.discovery_lab import serve

    password = os.urandom(8).hex()
    os.environ[PASSWORD_ENV] = password
    port = free_port()
    creds = Credentials(username="bench", password=SecretRef(env=PASSWORD_ENV))
    most = max(hosts)
    out: dict[str, Any] = {"hosts": list(hosts), "platform": "cisco_ios", "runs": []}
    with tempfile.TemporaryDirectory(prefix="meshq-bench-discovery-") as tmp:
        _say(f"starting {most} FakeNOS hosts on 127.0.2.1-{_address(most)}:{port}")
        started = time.perf_counter()
        with serve(_spec(most, port, password), Path(tmp)):
            out["lab_start_s"] = round(time.perf_counter() - started, 1)
            targets = [
                Target(
                    address=_address(i),
                    platform="cisco_ios",
                    name=f"sw{i:03d}",
                    port=port,
                    credentials=creds,
                )
                for i in range(1, most + 1)
            ]
            for count in hosts:
                for concurrency in concurrencies:
                    result = _one_run(targets[:count], concurrency)
                    _say(
                        f"{count} hosts, concurrency {concurrency}: "
                        f"{result['devices_per_s']} devices/s, {result['statuses']}, "
                        f"peak in flight {result['peak_in_flight']}"
                    )
                    out["runs"].append(result)
    return out


def markdown(r: dict[str, Any]) -> list[str]:
    hosts = r["hosts"] if isinstance(r["hosts"], list) else [r["hosts"]]
    lines = [
        f"## Discovery over SSH, {'/'.join(map(str, hosts))} FakeNOS hosts ({r['platform']}) "
        "on loopback",
        "",
        "| hosts | concurrency | collected | devices/s | peak in flight | connect+login ms "
        "| commands ms | parse ms | collector RSS MB (before / peak) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run_ in r["runs"]:
        t = run_["per_device_ms"]
        lines.append(
            f"| {run_['devices']} | {run_['concurrency']} | {run_['collected']}/{run_['devices']} "
            f"| {run_['devices_per_s']} | {run_.get('peak_in_flight', '')} "
            f"| {t['connect_login']} | {t['commands']} | {t['parse']} "
            f"| {run_['rss_mb']['before']} / {run_['rss_mb']['peak']} |"
        )
    lines += [
        "",
        "A run is the whole of `discover()` (collection and parsing). Per-device times are "
        "averages over the devices collected; the FakeNOS servers share the machine's cores "
        "with the collector.",
        "",
    ]
    return lines


if __name__ == "__main__":
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.discovery", description=__doc__)
    parser.add_argument("--hosts", type=int, nargs="+", default=list(HOSTS))
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    args = parser.parse_args()
    if max(args.hosts) > 1000:
        parser.error("--hosts: at most 1000 (one loopback address each)")
    print(json.dumps(run(tuple(args.hosts), tuple(args.concurrency)), indent=2))
