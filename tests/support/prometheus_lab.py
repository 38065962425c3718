"""Debian's Prometheus and snmp_exporter on loopback, scraping an snmpsim agent.

The snmp_exporter module is written here the way its generator writes ``if_mib`` (numeric
OIDs, ``ifIndex`` index, ``ifName`` lookup), since Debian ships no ready ``snmp.yml``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"
#: series -> (OID, type) as snmp_exporter's generator names IF-MIB objects
_IF_MIB = {
    "ifDescr": (f"{IF}.2", "DisplayString"),
    "ifSpeed": (f"{IF}.5", "gauge"),
    "ifOperStatus": (f"{IF}.8", "gauge"),
    "ifLastChange": (f"{IF}.9", "gauge"),
    "ifInOctets": (f"{IF}.10", "counter"),
    "ifInUcastPkts": (f"{IF}.11", "counter"),
    "ifInDiscards": (f"{IF}.13", "counter"),
    "ifInErrors": (f"{IF}.14", "counter"),
    "ifOutOctets": (f"{IF}.16", "counter"),
    "ifOutUcastPkts": (f"{IF}.17", "counter"),
    "ifOutDiscards": (f"{IF}.19", "counter"),
    "ifOutErrors": (f"{IF}.20", "counter"),
    "ifInMulticastPkts": (f"{IFX}.2", "counter"),
    "ifInBroadcastPkts": (f"{IFX}.3", "counter"),
    "ifOutMulticastPkts": (f"{IFX}.4", "counter"),
    "ifOutBroadcastPkts": (f"{IFX}.5", "counter"),
    "ifHCInOctets": (f"{IFX}.6", "counter"),
    "ifHCInUcastPkts": (f"{IFX}.7", "counter"),
    "ifHCInMulticastPkts": (f"{IFX}.8", "counter"),
    "ifHCInBroadcastPkts": (f"{IFX}.9", "counter"),
    "ifHCOutOctets": (f"{IFX}.10", "counter"),
    "ifHCOutUcastPkts": (f"{IFX}.11", "counter"),
    "ifHCOutMulticastPkts": (f"{IFX}.12", "counter"),
    "ifHCOutBroadcastPkts": (f"{IFX}.13", "counter"),
    "ifHighSpeed": (f"{IFX}.15", "gauge"),
    "ifCounterDiscontinuityTime": (f"{IFX}.19", "gauge"),
}


def tools() -> tuple[str, str] | None:
    prometheus = shutil.which("prometheus")
    exporter = shutil.which("prometheus-snmp-exporter")
    return (prometheus, exporter) if prometheus and exporter else None


def snmp_yml(community: str) -> str:
    metrics = [{"name": "sysUpTime", "oid": "1.3.6.1.2.1.1.3", "type": "gauge"}]
    for name, (oid, kind) in _IF_MIB.items():
        metrics.append(
            {
                "name": name,
                "oid": oid,
                "type": kind,
                "indexes": [{"labelname": "ifIndex", "type": "gauge"}],
                "lookups": [
                    {
                        "labels": ["ifIndex"],
                        "labelname": "ifName",
                        "oid": f"{IFX}.1",
                        "type": "DisplayString",
                    }
                ],
            }
        )
    module = {
        "version": 2,
        "auth": {"community": community},
        "walk": [IF, IFX],
        "get": ["1.3.6.1.2.1.1.3.0"],
        "metrics": metrics,
    }
    return yaml.safe_dump({"if_mib": module}, sort_keys=False)


def prometheus_yml(target: str, exporter: str, device: str) -> str:
    job = {
        "job_name": "snmp",
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "metrics_path": "/snmp",
        "params": {"module": ["if_mib"]},
        "static_configs": [{"targets": [target], "labels": {"device": device}}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": exporter},
        ],
    }
    return yaml.safe_dump({"scrape_configs": [job]}, sort_keys=False)


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up: {log.read_text(errors='replace')[-1500:]}")
        time.sleep(0.2)


@contextmanager
def serve(
    workdir: Path, *, agent: str, community: str, device: str, exporter_port: int, port: int
) -> Iterator[str]:
    """snmp_exporter and Prometheus scraping ``agent`` every second; yields Prometheus' URL."""
    found = tools()
    assert found is not None
    prometheus, exporter = found
    (workdir / "snmp.yml").write_text(snmp_yml(community))
    exporter_at = f"127.0.0.1:{exporter_port}"
    (workdir / "prometheus.yml").write_text(prometheus_yml(agent, exporter_at, device))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, argv, ready in (
            (
                "exporter",
                [
                    exporter,
                    f"--config.file={workdir / 'snmp.yml'}",
                    f"--web.listen-address={exporter_at}",
                ],
                f"http://{exporter_at}/",
            ),
            (
                "prometheus",
                [
                    prometheus,
                    f"--config.file={workdir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                f"http://127.0.0.1:{port}/-/ready",
            ),
        ):
            log = workdir / f"{name}.log"
            with log.open("w") as out:
                procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT))
            _wait(ready, procs[-1], log)
        yield f"http://127.0.0.1:{port}"
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
