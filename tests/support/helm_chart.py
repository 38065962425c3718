"""Render helm/meshoptixiq offline (helm-python-sdk, Helm's own library) and read the result."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

__all__ = [
    "CHART",
    "COMPONENTS",
    "PRODUCTION",
    "ROLES",
    "ROOT",
    "container",
    "load_values",
    "objects",
    "query_enabled",
    "render",
    "service_of",
    "workloads",
]

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "meshoptixiq"
PRODUCTION = CHART / "examples" / "production.yaml"
RELEASE = "mq"
NAMESPACE = "netops"

#: Chart component -> service directory under services/ (the same names).
COMPONENTS = (
    "licensing",
    "graph-engine",
    "query-gateway",
    "audit",
    "soar-dispatcher",
    "netbox-sync",
    "mcp-bridge",
    "alerts",
    "prober",
    "flow-collector",
)


#: Deployments that run a service's image in another role: component -> service.
ROLES = {"graph-engine-query": "graph-engine"}


def service_of(component: str) -> str:
    """The service (image, module, settings class) a Deployment component runs."""
    return ROLES.get(component, component)


def query_enabled(values: dict[str, Any] | None) -> bool:
    """Whether these values (over the defaults) turn the graph-engine query replicas on."""
    services = (values or {}).get("services") or {}
    return bool(((services.get("graph-engine") or {}).get("query") or {}).get("enabled"))


def load_values(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        values = yaml.safe_load(f)
    assert isinstance(values, dict)
    return values


@functools.lru_cache(maxsize=16)
def _render_cached(values_yaml: str) -> tuple[tuple[str, str], ...]:
    values = yaml.safe_load(values_yaml) or {}
    with helm.Chart.load(CHART) as chart:
        out = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return tuple(sorted(out.items()))


def render(values: dict[str, Any] | None = None) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` would print it."""
    return dict(_render_cached(yaml.safe_dump(values or {}, sort_keys=True)))


def objects(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart renders (NOTES.txt left out)."""
    docs: list[dict[str, Any]] = []
    for path, text in render(values).items():
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                assert isinstance(doc, dict), f"{path}: not a mapping"
                docs.append(doc)
    return docs


def workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Deployment component -> Deployment."""
    return {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d
        for d in docs
        if d["kind"] == "Deployment"
    }


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]
