"""The map's committed bundle: what the lock builds (when node and the locked packages are
installed: ``make ui``'s inputs), served from the gateway's package, with no other origin named
by the page."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UI_SRC = ROOT / "services" / "query-gateway" / "ui-src"
STATIC = importlib.resources.files("meshq_query_gateway.ui") / "static"
AXE = ROOT / "tests" / "browser" / "assets" / "axe.min.js"


def test_the_committed_bundle_is_what_the_lock_builds(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (UI_SRC / "node_modules" / "esbuild").is_dir():
        pytest.skip("node and the locked packages are needed (make ui installs them)")
    lock = json.loads((UI_SRC / "package-lock.json").read_text())
    for name in ("cytoscape", "esbuild", "axe-core"):
        installed = json.loads((UI_SRC / "node_modules" / name / "package.json").read_text())
        assert installed["version"] == lock["packages"][f"node_modules/{name}"]["version"], name
    subprocess.run(
        [node, "build.mjs"],
        cwd=UI_SRC,
        env={**os.environ, "MESHQ_UI_OUT_DIR": str(tmp_path)},
        check=True,
        timeout=120,
    )
    assert (tmp_path / "map.js").read_bytes() == STATIC.joinpath("map.js").read_bytes()
    assert (tmp_path / "axe.min.js").read_bytes() == AXE.read_bytes()


def test_the_page_loads_only_the_gateways_own_files() -> None:
    page = STATIC.joinpath("map.html").read_text()
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded and all(url.startswith("/") and not url.startswith("//") for url in loaded)
    bundle = STATIC.joinpath("map.js").read_text()
    assert "cytoscape" in bundle.lower()
    # no script or style of another origin is fetched, imported or injected by the bundle
    assert not re.search(r"""(?:import\(|importScripts\(|\.src\s*=)\s*["'`]https?:""", bundle)
    assert "cdn." not in bundle.lower()
