"""An SNMP agent whose interface counters advance: snmpsim's ``numeric`` variation module.

``numeric`` answers ``initial + rate * (seconds since the agent started)`` for a counter
(``wrap`` folds it at ``max``), so the rates a poller must compute are the ``rate`` values
written below, wraps included. Restarting the agent restarts sysUpTime and every counter from
its initial value: a device reboot, a counter reset.

edge1 (127.0.0.31, community ``metrics-lab``):

- Ethernet1 (ifIndex 1, 10 Gbit/s): 64-bit counters; ifHCInOctets starts 16 s of traffic below
  2**64 and wraps.
- Ethernet2 (ifIndex 2, 1 Gbit/s): no ifHC* counters (32-bit only); ifInOctets starts 12 s of
  traffic below 2**32 and wraps.
- Ethernet3 (ifIndex 3): down, counters still.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ADDRESS = "127.0.0.31"
COMMUNITY = "metrics-lab"
IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"


@dataclass(frozen=True)
class Port:
    index: int
    name: str
    speed_mbps: int
    hc: bool
    up: bool
    #: counter -> (rate per second, seconds before the wrap, or None for a start at 10**9)
    rates: dict[str, tuple[float, float | None]]


PORTS = (
    Port(
        1,
        "Ethernet1",
        10_000,
        hc=True,
        up=True,
        rates={
            "in_octets": (250e6, 16.0),
            "out_octets": (125e6, None),
            "in_ucast": (200_000, None),
            "out_ucast": (100_000, None),
            "in_mcast": (100, None),
            "out_mcast": (50, None),
            "in_bcast": (10, None),
            "out_bcast": (5, None),
            "in_errors": (200, None),
            "out_errors": (100, None),
            "in_discards": (300, None),
            "out_discards": (400, None),
        },
    ),
    Port(
        2,
        "Ethernet2",
        1_000,
        hc=False,
        up=True,
        rates={
            "in_octets": (50e6, 12.0),
            "out_octets": (10e6, None),
            "in_ucast": (40_000, None),
            "out_ucast": (8_000, None),
            "in_errors": (50, None),
            "out_errors": (0, None),
            "in_discards": (0, None),
            "out_discards": (0, None),
        },
    ),
    Port(3, "Ethernet3", 1_000, hc=False, up=False, rates={}),
)
#: counter -> (32-bit OID column, 64-bit OID column or None)
_COLUMNS = {
    "in_octets": (f"{IF}.10", f"{IFX}.6"),
    "in_ucast": (f"{IF}.11", f"{IFX}.7"),
    "in_discards": (f"{IF}.13", None),
    "in_errors": (f"{IF}.14", None),
    "out_octets": (f"{IF}.16", f"{IFX}.10"),
    "out_ucast": (f"{IF}.17", f"{IFX}.11"),
    "out_discards": (f"{IF}.19", None),
    "out_errors": (f"{IF}.20", None),
    "in_mcast": (f"{IFX}.2", f"{IFX}.8"),
    "in_bcast": (f"{IFX}.3", f"{IFX}.9"),
    "out_mcast": (f"{IFX}.4", f"{IFX}.12"),
    "out_bcast": (f"{IFX}.5", f"{IFX}.13"),
}


def _numeric(tag: int, rate: float, wrap_after: float | None, bits: int) -> str:
    top = 2**bits
    initial = top - int(rate * wrap_after) if wrap_after is not None else 10**9
    # ``numeric`` wraps with ``v %= max``: max = 2**bits folds exactly as a counter does
    return f"{tag}:numeric|rate={rate},initial={initial},max={top},wrap=1"


def records() -> dict[str, str]:
    rec = {
        "1.3.6.1.2.1.1.1.0": "4|Arista Networks EOS version 4.30.2F running on DCS-7280SR",
        "1.3.6.1.2.1.1.3.0": "67:numeric|rate=100,initial=0",
        "1.3.6.1.2.1.1.5.0": "4|edge1",
    }
    for port in PORTS:
        i = port.index
        rec[f"{IF}.1.{i}"] = f"2|{i}"
        rec[f"{IF}.2.{i}"] = f"4|{port.name}"
        rec[f"{IF}.5.{i}"] = f"66|{min(port.speed_mbps * 1_000_000, 2**32 - 1)}"
        rec[f"{IF}.7.{i}"] = "2|1"
        rec[f"{IF}.8.{i}"] = "2|1" if port.up else "2|2"
        rec[f"{IF}.9.{i}"] = "67|0"
        rec[f"{IFX}.1.{i}"] = f"4|{port.name}"
        rec[f"{IFX}.15.{i}"] = f"66|{port.speed_mbps}"
        rec[f"{IFX}.19.{i}"] = "67|0"
        for counter, (col32, col64) in _COLUMNS.items():
            rate, wrap_after = port.rates.get(counter, (0.0, None))
            # an HC port answers the 64-bit column (its 32-bit twin is left out, so a poller
            # must prefer HC); errors and discards exist only as 32-bit counters
            if port.hc and col64:
                rec[f"{col64}.{i}"] = _numeric(70, rate, wrap_after, 64)
            else:
                rec[f"{col32}.{i}"] = _numeric(65, rate, wrap_after, 32)
    return rec


def snmprec(rec: dict[str, str]) -> str:
    ordered = sorted(rec.items(), key=lambda kv: tuple(int(p) for p in kv[0].split(".")))
    return "".join(f"{oid}|{value}\n" for oid, value in ordered)


@dataclass
class Agent:
    workdir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        data = self.workdir / "data"
        if not data.exists():
            data.mkdir(parents=True)
            (data / f"{COMMUNITY}.snmprec").write_text(snmprec(records()))
        log_path = self.workdir / "agent.log"
        cache = self.workdir / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        with log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("snmpsim-command-responder")),
                    f"--data-dir={data}",
                    f"--cache-dir={cache}",
                    f"--agent-udpv4-endpoint={ADDRESS}:{self.port}",
                    "--process-user=root",
                    "--process-group=root",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while "Listening at" not in log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"snmpsim did not start: {log_path.read_text()[-1500:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """A reboot: sysUpTime and every counter start again."""
        self.stop()
        self.start()


@contextmanager
def serve(workdir: Path, port: int) -> Iterator[Agent]:
    agent = Agent(workdir, port)
    try:
        agent.start()
        yield agent
    finally:
        agent.stop()
