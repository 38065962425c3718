"""The commands the guide names: ``meshq-mcp`` and ``python -m network_discovery.mcp.server``."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from network_discovery.mcp import server


def test_meshq_mcp_is_the_server_main() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "meshq-mcp"]
    assert script.load() is server.main


def test_module_help_names_both_transports() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "network_discovery.mcp.server", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--transport" in done.stdout and "http" in done.stdout and "--port" in done.stdout
