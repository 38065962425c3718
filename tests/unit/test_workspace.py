"""The workspace's shape: services depend on libs, never on each other."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())
MODULES = {p.name: "meshq_" + p.name.replace("-", "_") for p in SERVICES}


def test_the_seven_services_exist() -> None:
    assert set(MODULES) == {
        "licensing",
        "graph-engine",
        "query-gateway",
        "audit",
        "soar-dispatcher",
        "netbox-sync",
        "mcp-bridge",
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


def test_customer_distribution_and_console_scripts() -> None:
    meta = tomllib.loads((ROOT / "libs/network-discovery/pyproject.toml").read_text())["project"]
    assert meta["name"] == "meshoptixiq-network-discovery"
    assert set(meta["optional-dependencies"]) >= {"mcp", "integrations"}
    assert set(meta["scripts"]) == {"meshq", "meshq-mcp", "meshq-ansible-inventory"}
