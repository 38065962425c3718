"""``meshq ingest DIR``: every problem, a line per device, and partial input refused unless
--allow-partial (these checks run before any stack is needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from network_discovery.cli import cli
from support import real_labs


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    copy = tmp_path / "lab"
    shutil.copytree(real_labs.LABS / "mixed", copy)
    return copy


def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("MESHOPTIXIQ_API_URL", "MESHOPTIXIQ_API_KEY", "MESHQ_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MESHQ_DATA_DIR", str(tmp_path / "nowhere"))


def test_a_device_that_yields_nothing_is_refused_naming_it(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolated(monkeypatch, tmp_path)
    silent = lab / "leaf9-ios"
    silent.mkdir()
    (silent / "meta.yaml").write_text("platform: cisco_ios\n")
    (silent / "show clock.txt").write_text("*10:01:02.123 UTC Sun Dec 6 2026\n")
    result = CliRunner().invoke(cli, ["ingest", str(lab)])
    assert result.exit_code == 1
    assert "1 device(s) yielded nothing (leaf9-ios): nothing was published" in result.output
    assert "'show clock' is not a command read on cisco_ios; ignored" in result.output
    table = [line.split() for line in result.output.splitlines() if line.startswith("leaf")]
    assert ["leaf9-ios", "cisco_ios", "0", "1", "0", "no"] == table[-1][:6]
    assert [row[0] for row in table[:2]] == ["leaf1-ios", "leaf2-ios"]


def test_allow_partial_goes_on_to_publish(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolated(monkeypatch, tmp_path)
    (lab / "leaf1-ios" / "show version.txt").write_text("% Invalid input detected\n")
    refused = CliRunner().invoke(cli, ["ingest", str(lab)])
    assert refused.exit_code == 1 and "1 file(s) could not be read" in refused.output
    result = CliRunner().invoke(cli, ["ingest", str(lab), "--allow-partial"])
    # past the partial check: the next thing it needs is a running stack
    assert result.exit_code == 1 and "no running MeshOptixIQ stack found" in result.output


class _Swallower:
    """A TCP port that accepts connections and never answers (a hung broker, a dead path)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        for conn in self.conns:
            conn.close()
        self.sock.close()


def _ingest_with_broker_at(
    bootstrap: str, path: Path, tmp_path: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHQ_", "MESHOPTIXIQ_"))}
    env.update(MESHQ_DATA_DIR=str(tmp_path / "nowhere"), MESHQ_KAFKA_BOOTSTRAP=bootstrap)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "network_discovery.cli", "ingest", str(path), "--wait", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, time.monotonic() - started


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Error" not in result.stdout, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("meshq: ")]
    noise = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not line.startswith(("meshq: ", "warning: ", "publishing"))
    ]
    assert len(errors) == 1 and not noise, result.stderr
    return errors[0]


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    from network_discovery.demo import snapshot_text

    path = tmp_path / "demo.json"
    path.write_text(snapshot_text())
    return path


def test_ingest_wait_with_no_broker_listening_fails_at_once(
    demo_file: Path, tmp_path: Path
) -> None:
    from meshq_runtime.embedded import free_port

    result, took = _ingest_with_broker_at(f"127.0.0.1:{free_port()}", demo_file, tmp_path)
    line = _one_line_error(result)
    assert "cannot reach the Kafka broker at 127.0.0.1:" in line
    assert "MESHQ_KAFKA_BOOTSTRAP" in line  # what to do
    assert took < 30, took


def test_ingest_wait_with_a_broker_that_never_answers_gives_up_after_the_connect_timeout(
    demo_file: Path, tmp_path: Path
) -> None:
    hung = _Swallower()
    try:
        result, took = _ingest_with_broker_at(
            f"127.0.0.1:{hung.port}",
            demo_file,
            tmp_path,
            "--timeout",
            "300",
            "--connect-timeout",
            "2",
        )
    finally:
        hung.close()
    line = _one_line_error(result)
    assert f"the Kafka broker at 127.0.0.1:{hung.port} did not answer within 2 s" in line
    assert took < 20, took  # the connect timeout, not the 300 s wait
