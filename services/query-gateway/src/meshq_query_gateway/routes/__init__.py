"""The gateway's public routes. Each module here exports ``ROUTES``; adding a route (or a whole
group, like ``/graph/*``) is one new module in this package, with nothing else to edit."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

__all__ = ["collect_routes"]


def collect_routes() -> list[Any]:
    routes: list[Any] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        routes.extend(getattr(module, "ROUTES", []))
    return routes
