"""compose.yaml and the Helm chart describe the same services with the same settings.

Both are checked against each service's settings class (``env_names()``): every variable
either one sets is one the service reads, and the two lists agree except where a difference
is deliberate and named below with its reason.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import yaml
from meshq_runtime.settings import env_names
from support.helm_chart import (
    COMPONENTS,
    PRODUCTION,
    ROLES,
    ROOT,
    container,
    load_values,
    objects,
    workloads,
)

KAFKA_SECURITY = {
    "MESHQ_KAFKA_SECURITY_PROTOCOL",
    "MESHQ_KAFKA_SASL_MECHANISM",
    "MESHQ_KAFKA_SASL_USERNAME",
    "MESHQ_KAFKA_SASL_PASSWORD",
    "MESHQ_KAFKA_SSL_CAFILE",
}
#: Set by the chart only. The data directory is a mounted volume there (the image's default
#: in compose); compose's broker is plaintext on its private network and its Memgraph has
#: no users; named keys, SOAR rules and alert rules are mounted files in the chart.
CHART_ONLY = {
    "licensing": {"MESHQ_DATA_DIR", *KAFKA_SECURITY},
    "graph-engine": {"MESHQ_DATA_DIR", *KAFKA_SECURITY, "MEMGRAPH_USER", "MEMGRAPH_PASSWORD"},
    "query-gateway": {"MESHQ_DATA_DIR", *KAFKA_SECURITY},
    "audit": {"MESHQ_DATA_DIR", *KAFKA_SECURITY},
    "soar-dispatcher": {"MESHQ_DATA_DIR", *KAFKA_SECURITY, "SOAR_RULES_FILE"},
    "netbox-sync": {"MESHQ_DATA_DIR", *KAFKA_SECURITY},
    "mcp-bridge": {"MESHQ_DATA_DIR"},
    "alerts": {"MESHQ_DATA_DIR", *KAFKA_SECURITY},
    "prober": {"MESHQ_DATA_DIR", *KAFKA_SECURITY},
    "flow-collector": {"MESHQ_DATA_DIR", *KAFKA_SECURITY},
}
#: Set by compose only: rules inline from the shell (the chart mounts them as a file).
COMPOSE_ONLY = {"soar-dispatcher": {"SOAR_RULES"}}


def settings_class(component: str) -> Any:
    return importlib.import_module(f"meshq_{component.replace('-', '_')}.settings").Settings


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with (ROOT / "compose.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def chart_env() -> dict[str, set[str]]:
    """Every variable the chart can set: the production example, plus the options it leaves
    off (a self-hosted license server, a generic OIDC provider)."""
    values = load_values(PRODUCTION)
    values["license"]["serverUrl"] = "https://licenses.corp.example.com"
    values["gateway"]["oidc"] = {
        "issuer": "https://idp.corp.example.com",
        "audience": "meshoptixiq",
        "jwksUrl": "https://idp.corp.example.com/jwks",
    }
    deps = workloads(objects(values))
    return {c: {e["name"] for e in container(d)["env"]} for c, d in deps.items()}


def compose_env(compose: dict[str, Any], component: str) -> set[str]:
    return set(compose["services"][component].get("environment") or {})


def test_same_services(compose, chart_env) -> None:
    built = {
        name
        for name, svc in compose["services"].items()
        if isinstance(svc.get("build"), dict) and name != "kafka-topics"
    }
    services_dir = {p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml")}
    assert built == set(chart_env) - set(ROLES) == set(COMPONENTS) == services_dir
    assert set(ROLES) <= set(chart_env)  # the production example runs every role


@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_role_sets_only_what_its_service_reads(chart_env, role) -> None:
    reads = env_names(settings_class(ROLES[role]))
    assert chart_env[role] <= reads, chart_env[role] - reads


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_variable_is_one_the_service_reads(compose, chart_env, component) -> None:
    reads = env_names(settings_class(component))
    assert chart_env[component] <= reads, chart_env[component] - reads
    assert compose_env(compose, component) <= reads


@pytest.mark.parametrize("component", COMPONENTS)
def test_chart_and_compose_set_the_same_settings(compose, chart_env, component) -> None:
    chart, comp = chart_env[component], compose_env(compose, component)
    assert chart - comp == CHART_ONLY[component], "set in the chart, missing from compose.yaml"
    assert comp - chart == COMPOSE_ONLY.get(component, set()), "in compose.yaml, not in the chart"


def test_hook_job_reads_what_the_topic_bootstrap_reads() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "kafka_topics", ROOT / "deploy" / "kafka_topics.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    job = next(d for d in objects(load_values(PRODUCTION)) if d["kind"] == "Job")
    init = {c["name"]: c for c in job["spec"]["template"]["spec"]["initContainers"]}
    names = {e["name"] for e in init["kafka-topics"]["env"]}
    assert names <= env_names(module.Settings)
    assert {"MESHQ_KAFKA_BOOTSTRAP", "MESHQ_KAFKA_PARTITIONS", "MESHQ_KAFKA_REPLICATION"} <= names


def test_every_variable_the_chart_sets_is_in_the_deployment_guide(chart_env) -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    everywhere = {
        "MESHQ_HOST",
        "MESHQ_LOG_FORMAT",
        "MESHQ_LOG_LEVEL",
        "MESHOPTIXIQ_DEMO_MODE",
        "MESHQ_DATA_DIR",
    }  # set the same way on every pod, documented in the README
    ports = {settings_class(c).model_fields["port"].alias for c in COMPONENTS}
    missing = {
        name
        for names in chart_env.values()
        for name in names - everywhere - ports
        if f"`{name}`" not in guide
    }
    assert not missing, f"docs/deployment.md does not mention {sorted(missing)}"
