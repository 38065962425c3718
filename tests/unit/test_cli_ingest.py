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
    for name in ("MESHOPTIXIQ_API_URL", "MESHOPTIXIQ_API_KEY"):
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
    assert "1 device(s) yielded nothing (leaf9-ios): nothing was submitted" in result.output
    assert "'show clock' is not a command read on cisco_ios; ignored" in result.output
    table = [line.split() for line in result.output.splitlines() if line.startswith("leaf")]
    assert ["leaf9-ios", "cisco_ios", "0", "1", "0", "no"] == table[-1][:6]
    assert [row[0] for row in table[:2]] == ["leaf1-ios", "leaf2-ios"]


def test_allow_partial_goes_on_to_submit(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolated(monkeypatch, tmp_path)
    (lab / "leaf1-ios" / "show version.txt").write_text("% Invalid input detected\n")
    refused = CliRunner().invoke(cli, ["ingest", str(lab)])
    assert refused.exit_code == 1 and "1 file(s) could not be read" in refused.output
    result = CliRunner().invoke(cli, ["ingest", str(lab), "--allow-partial"])
    # past the partial check: the next thing it needs is a running stack
    assert result.exit_code == 1 and "no running MeshOptixIQ stack found" in result.output


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Error" not in result.stdout, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("meshq: ")]
    noise = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not line.startswith(("meshq: ", "warning: ", "submitting"))
    ]
    assert len(errors) == 1 and not noise, result.stderr
    return errors[0]


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    from network_discovery.demo import snapshot_text

    path = tmp_path / "demo.json"
    path.write_text(snapshot_text())
    return path


def test_ingest_with_nothing_listening_at_the_api_fails_at_once_in_one_line(
    demo_file: Path, tmp_path: Path
) -> None:
    from meshq_runtime.embedded import free_port

    url = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHQ_", "MESHOPTIXIQ_"))}
    env.update(
        MESHQ_DATA_DIR=str(tmp_path / "nowhere"),
        MESHOPTIXIQ_API_URL=url,
        MESHOPTIXIQ_API_KEY="k" * 32,
        MESHQ_KAFKA_BOOTSTRAP="127.0.0.1:1",  # never looked at: the CLI needs no broker
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "network_discovery.cli", "ingest", str(demo_file), "--wait"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    line = _one_line_error(result)
    assert url in line and "does not answer" in line, line
    assert took < 30, took
