"""The MCP Inspector's CLI (a client nobody here wrote) against meshq-mcp over stdio.

Its npm package is pinned in ``inspector/package.json``; ``npm ci --prefix
tests/integration/mcp/inspector`` installs it (the CI entry point does).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

INSPECTOR = Path(__file__).parent / "inspector" / "node_modules" / ".bin" / "mcp-inspector"


def _inspect(demo_api, *method: str) -> dict:
    if shutil.which("node") is None or not INSPECTOR.exists():
        pytest.skip(
            "the MCP Inspector is not installed: npm ci --prefix tests/integration/mcp/inspector"
        )
    command = [
        str(INSPECTOR), "--cli",
        "-e", f"MESHOPTIXIQ_API_URL={demo_api.url}",
        "-e", f"MESHOPTIXIQ_API_KEY={demo_api.api_key}",
        sys.executable, "-m", "network_discovery.mcp.server",
        "--method", *method,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_inspector_lists_the_tools(demo_api) -> None:
    catalogue = httpx.get(demo_api.url + "/queries", headers={"X-API-Key": demo_api.api_key})
    listed = _inspect(demo_api, "tools/list")
    assert {t["name"] for t in listed["tools"]} == {q["name"] for q in catalogue.json()}


def test_inspector_calls_a_tool(demo_api) -> None:
    answer = _inspect(
        demo_api, "tools/call", "--tool-name", "locate_endpoint_by_ip", "--tool-arg",
        "ip=10.1.10.20",
    )  # fmt: skip
    assert not answer.get("isError")
    rows = answer["structuredContent"]["rows"]
    assert rows and rows[0]["device"] == "hq-a-acc-01"
