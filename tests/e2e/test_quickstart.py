"""The README's quick start, run as written: `make run` serves the demo, `make test` tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import psutil
import pytest
from support.procs import free_port, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quick start has no sh block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_the_two_make_commands() -> None:
    assert _quick_start_commands() == ["make run", "make test"]
    dry = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "pytest" in dry.stdout


def test_make_run_serves_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MESHQ_", "MEMGRAPH_", "MESHOPTIXIQ_")) and k != "API_KEY"
    }
    env.update(MESHQ_DATA_DIR=str(tmp_path / "data"), MESHQ_GATEWAY_PORT=str(port))
    out = (tmp_path / "make-run.out").open("wb")
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoints_file = tmp_path / "data" / "run" / "endpoints.json"
    children: set[int] = set()
    try:
        # a loaded CI machine starts the whole stack in minutes; the output says how far it got
        try:
            wait_for(endpoints_file.exists, timeout=360, what="make run to write endpoints.json")
        except TimeoutError as exc:
            said = (tmp_path / "make-run.out").read_text(errors="replace")[-4000:]
            raise TimeoutError(f"{exc}\n--- make run printed ---\n{said}") from None
        endpoints = json.loads(endpoints_file.read_text())
        assert endpoints["gateway"] == f"http://127.0.0.1:{port}"
        children = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        wait_for(
            lambda: "Press Ctrl-C to stop" in (tmp_path / "make-run.out").read_text(),
            timeout=360,
            what="make run to finish starting",
        )
        printed = (tmp_path / "make-run.out").read_text()
        assert "Demo network loaded" in printed
        assert "demo mode" in printed.lower()
        assert "/schema" in printed and "meshq-mcp" in printed and "curl" in printed

        headers = {"X-API-Key": endpoints["api_key"]}
        base = f"http://localhost:{port}"
        assert httpx.get(f"{base}/ready", timeout=10).status_code == 200
        listing = httpx.get(f"{base}/queries", headers=headers, timeout=10)
        assert listing.status_code == 200, listing.text
        assert isinstance(listing.json(), list)
        assert httpx.get(f"{base}/schema/openapi.json", timeout=10).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        out.close()
    left = [
        pid
        for pid in children
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert not left, f"processes left after Ctrl-C: {left}"
    assert not endpoints_file.exists()
