"""The customer wheel declares what it imports: every third-party module the
``network_discovery`` package imports is a dependency of ``meshoptixiq-network-discovery``,
or of the extra that the importing part needs (``pip install
"meshoptixiq-network-discovery[mcp]"`` then ``meshq ingest`` died on a missing aiokafka)."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "libs" / "network-discovery"
SOURCE = PACKAGE / "src" / "network_discovery"
#: Imports that are guarded and name what to install when missing.
OPTIONAL = {
    "meshq_runtime": "cli/main.py: 'meshq serve' needs the services",
}
#: Which extra each part of the package may rely on, beyond the base dependencies.
EXTRAS = {"mcp": "mcp", "licensing/_build.py": "compiled"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for file in SOURCE.rglob("*.py"):
        where = file.relative_to(SOURCE).as_posix()
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "network_discovery":
                    found.setdefault(top, set()).add(where)
    return found


def test_every_import_is_declared() -> None:
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    base = {_name(r) for r in project["dependencies"]}
    extras = {k: {_name(r) for r in v} for k, v in project["optional-dependencies"].items()}
    distributions = md.packages_distributions()
    missing = []
    for module, files in sorted(_imports().items()):
        if module in OPTIONAL:
            continue
        dists = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        for file in sorted(files):
            allowed = set(base)
            for prefix, extra in EXTRAS.items():
                if file.startswith(prefix):
                    allowed |= extras[extra]
            if not dists & allowed:
                missing.append(f"{module} ({'/'.join(sorted(dists))}) imported by {file}")
    assert not missing, "undeclared imports of the customer wheel: " + "; ".join(missing)
