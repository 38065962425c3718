"""The workspace's shape: services depend on libs, never on each other."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())
MODULES = {p.name: "meshq_" + p.name.replace("-", "_") for p in SERVICES}


def test_the_nine_services_exist() -> None:
    assert set(MODULES) == {
        "licensing",
        "graph-engine",
        "query-gateway",
        "audit",
        "soar-dispatcher",
        "netbox-sync",
        "mcp-bridge",
        "alerts",
        "flow-collector",
        "prober",
    }


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_service_depends_on_libs_only(service: Path) -> None:
    deps = tomllib.loads((service / "pyproject.toml").read_text())["project"]["dependencies"]
    others = {f"meshq-{name}" for name in MODULES if name != service.name}
    assert not [d for d in deps if d.split()[0] in others]

    own = MODULES[service.name]
    foreign = set(MODULES.values()) - {own}
    for source in (service / "src" / own).rglob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad = [n for n in names if n.split(".")[0] in foreign]
            assert not bad, f"{source.relative_to(ROOT)} imports another service: {bad}"


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_service_has_the_standard_entry_points(service: Path) -> None:
    pkg = service / "src" / MODULES[service.name]
    for name in ("__main__.py", "app.py", "settings.py"):
        assert (pkg / name).exists(), f"{pkg.relative_to(ROOT)}/{name} is missing"
    assert "def create_app(settings" in (pkg / "app.py").read_text()


def _meta(lib: str) -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "libs" / lib / "pyproject.toml").read_text())[
        "project"
    ]
    return project


def test_customer_distribution_and_console_scripts() -> None:
    meta = _meta("network-discovery")
    assert meta["name"] == "meshoptixiq-network-discovery"
    assert set(meta["optional-dependencies"]) >= {"mcp", "integrations"}
    assert set(meta["scripts"]) == {"meshq", "meshq-ansible-inventory"}
    assert {"meshoptixiq-model", "meshoptixiq-client"} <= set(meta["dependencies"])
    # pip install "meshoptixiq-network-discovery[mcp]" brings meshq-mcp
    assert meta["optional-dependencies"]["mcp"] == ["meshoptixiq-mcp"]
    mcp = _meta("mcp")
    assert mcp["name"] == "meshoptixiq-mcp"
    assert mcp["scripts"] == {"meshq-mcp": "network_discovery.mcp.server:main"}


def test_libraries_by_audience() -> None:
    libs = [p.parent.name for p in ROOT.glob("libs/*/pyproject.toml")]
    names = {lib: _meta(lib)["name"] for lib in libs}
    assert names == {
        "model": "meshoptixiq-model",
        "client": "meshoptixiq-client",
        "mcp": "meshoptixiq-mcp",
        "network-discovery": "meshoptixiq-network-discovery",
        "flows": "meshoptixiq-flows",
        "vuln": "meshoptixiq-vuln",
        "k8s": "meshoptixiq-k8s",
        "runtime": "meshq-runtime",
        "embedded": "meshq-embedded",
    }
    sources = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["sources"]
    assert set(names.values()) <= set(sources)
