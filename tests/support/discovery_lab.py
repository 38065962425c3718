"""The discovery lab: three switches of one small topology, served over SSH on loopback.

``core1`` (Arista EOS, 127.0.0.11; it answers ``| json`` too) links to ``acc1`` and ``acc2``
(Cisco IOS, 127.0.0.12/13);
``acc1`` also sees ``acc3`` (127.0.0.14), which refuses our password; ``core1`` sees
``ext-rtr1`` at 10.99.0.1, outside every allowed network; 127.0.0.15 accepts TCP and never
speaks SSH. Outputs come from ``tests/fixtures/discovery/lab/<host>/<command>.txt``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from meshq_graph_engine.derive import derive_all
from meshq_runtime.embedded import free_port
from network_discovery.discovery.plan import JSON_PIPES, commands_for
from network_discovery.model import Snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "discovery" / "lab"
SERVER = Path(__file__).with_name("fakenos_lab.py")
USERNAME = "netops"
PASSWORD = "lab-pass-3141"
PASSWORD_ENV = "MESHQ_TEST_LAB_PASSWORD"
ADDRESSES = {"core1": "127.0.0.11", "acc1": "127.0.0.12", "acc2": "127.0.0.13"}
WRONG_CREDS = ("acc3", "127.0.0.14")
SILENT = "127.0.0.15"


JSON_FIXTURES = FIXTURES.parent / "lab-json"


def outputs_of(folder: Path, json_folder: Path | None = None) -> tuple[str, dict[str, str]]:
    """(platform, command -> text) of one fixture device folder; where ``json_folder`` (by
    default ``lab-json/<device>``) holds the device's structured output too, it answers
    ``<command> | json`` (``| display json`` on Junos) with it."""
    platform = yaml.safe_load((folder / "meta.yaml").read_text())["platform"]
    json_folder = json_folder or JSON_FIXTURES / folder.name
    outputs = {}
    for command in commands_for(platform):
        stem = command.replace(" ", "_")
        file = folder / f"{stem}.txt"
        if file.exists():
            outputs[command] = file.read_text()
        as_json = json_folder / f"{stem}.json"
        if as_json.exists() and platform in JSON_PIPES:
            outputs[f"{command} {JSON_PIPES[platform]}"] = as_json.read_text()
    return platform, outputs


def as_printed(text: str) -> str:
    """A fixture output as the lab prints it and a collector returns it: its lines joined
    with ``\n``, no trailing newline."""
    return "\n".join(text.rstrip("\n").splitlines())


@dataclass(frozen=True)
class Lab:
    port: int
    proc: subprocess.Popen[str]
    #: The spec's folder: ``sessions/<host>.log`` (hosts with ``record``), ``stats.json``.
    workdir: Path

    def commands(self, host: str) -> list[str]:
        """Every command ``host`` received, in order (a host of the spec with ``record``)."""
        log = self.workdir / "sessions" / f"{host}.log"
        return log.read_text().splitlines() if log.exists() else []


def lab_spec(port: int) -> dict:
    hosts = []
    for name, address in ADDRESSES.items():
        platform, outputs = outputs_of(FIXTURES / name)
        hosts.append(
            {
                "name": name,
                "address": address,
                "port": port,
                "platform": platform,
                "username": USERNAME,
                "password": PASSWORD,
                "outputs": outputs,
            }
        )
    _, acc1 = outputs_of(FIXTURES / "acc1")
    hosts.append(
        {
            "name": WRONG_CREDS[0],
            "address": WRONG_CREDS[1],
            "port": port,
            "platform": "cisco_ios",
            "username": USERNAME,
            "password": "a-different-password",
            "outputs": {"show version": acc1["show version"].replace("acc1", "acc3")},
        }
    )
    return {"hosts": hosts, "silent": [{"address": SILENT, "port": port}]}


def peak_sessions(workdir: Path) -> int:
    """The most shells a lab had open at once (written when it stopped)."""
    return int(json.loads((workdir / "stats.json").read_text())["peak_open"])


@contextmanager
def serve(spec: dict, workdir: Path) -> Iterator[subprocess.Popen[str]]:
    """Run ``fakenos_lab.py`` with ``spec`` until the block ends."""
    spec_file = workdir / "fakenos-spec.json"
    spec_file.write_text(json.dumps(spec))
    log = (workdir / "fakenos.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), str(spec_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            tail = (workdir / "fakenos.log").read_text()[-2000:]
            raise RuntimeError(f"the FakeNOS lab did not start: {tail}")
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close() if proc.stdout else None
        log.close()


PLATFORMS = {"core1": "arista_eos", "acc1": "cisco_ios", "acc2": "cisco_ios"}


def write_inventory(folder: Path, port: int) -> Path:
    """A YAML inventory of core1, acc1 and acc2, the password by environment variable."""
    file = folder / "inventory.yaml"
    file.write_text(
        f"credentials:\n  lab: {{username: {USERNAME}, password_env: {PASSWORD_ENV}}}\n"
        f"defaults: {{credentials: lab, port: {port}}}\nhosts:\n"
        + "".join(
            f"  {n}: {{address: {a}, platform: {PLATFORMS[n]}}}\n" for n, a in ADDRESSES.items()
        )
    )
    return file


def lab_port() -> int:
    return free_port()


def graph_view(snapshot: Snapshot) -> tuple[set[str | None], set[tuple[str, ...]], set[tuple]]:
    """Host names, normalised link pairs, endpoint MAC -> device:port."""
    derived = derive_all(snapshot)
    links = {
        tuple(sorted(f"{e.device}:{e.interface}" for e in (link.a, link.b)))
        for link in derived.links
    }
    endpoints = {
        (e.mac, f"{e.device}:{e.interface}") for e in derived.endpoints if e.device is not None
    }
    return {d.hostname for d in snapshot.devices}, links, endpoints
