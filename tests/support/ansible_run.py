"""Run the real ``ansible-inventory`` (ansible-core, from this environment) on an inventory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["ansible_inventory", "graph_groups", "listing"]


def ansible_inventory(
    source: Path | str, *args: str, tmp: Path, env: dict[str, str] | None = None
) -> str:
    tool = Path(sys.executable).parent / "ansible-inventory"
    run_env = {
        **os.environ,
        "PATH": f"{tool.parent}:{os.environ['PATH']}",
        "ANSIBLE_HOME": str(tmp / "ansible"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "ANSIBLE_INVENTORY_ENABLED": "script,ini",
        **(env or {}),
    }
    done = subprocess.run(
        [str(tool), "-i", str(source), *args],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    return done.stdout


def listing(source: Path | str, tmp: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    return dict(json.loads(ansible_inventory(source, "--list", tmp=tmp, env=env)))


def graph_groups(text: str) -> dict[str, list[str]]:
    """``--graph`` output as group -> its hosts (direct members only)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        name = re.sub(r"^[\s|]*-*", "", line).strip()
        if name.startswith("@") and name.endswith(":"):
            current = name[1:-1]
            out[current] = []
        elif current and name:
            out[current].append(name)
    return out
