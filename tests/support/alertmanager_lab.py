"""Debian's Prometheus Alertmanager on loopback, for the alerts service's push."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.prometheus_lab import _wait

__all__ = ["binary", "serve"]

CONFIG = """\
route:
  receiver: "null"
  group_wait: 1s
receivers:
  - name: "null"
"""


def binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@contextmanager
def serve(workdir: Path, port: int) -> Iterator[str]:
    """An Alertmanager alone (no cluster); yields its URL."""
    found = binary()
    assert found is not None
    (workdir / "alertmanager.yml").write_text(CONFIG)
    log = workdir / "alertmanager.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                found,
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(f"http://127.0.0.1:{port}/-/ready", proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
