"""Settings pieces read the documented environment variables, nothing at import time."""

from __future__ import annotations

import importlib

import pytest
from meshq_runtime.settings import env_names

SERVICES = [
    "meshq_licensing",
    "meshq_graph_engine",
    "meshq_query_gateway",
    "meshq_audit",
    "meshq_soar_dispatcher",
    "meshq_netbox_sync",
    "meshq_mcp_bridge",
]


@pytest.mark.parametrize("module", SERVICES)
def test_every_service_reads_its_settings_from_the_environment(module, monkeypatch) -> None:
    settings_cls = importlib.import_module(f"{module}.settings").Settings
    names = env_names(settings_cls)
    assert "MESHQ_DATA_DIR" in names and "MESHQ_LOG_LEVEL" in names
    port_var = next(n for n in names if n.endswith("_PORT"))
    monkeypatch.setenv(port_var, "18123")
    assert settings_cls().port == 18123


def test_service_specific_variables(monkeypatch) -> None:
    from meshq_graph_engine.settings import Settings as Graph
    from meshq_mcp_bridge.settings import Settings as Mcp
    from meshq_query_gateway.settings import Settings as Gateway

    monkeypatch.setenv("MEMGRAPH_URI", "bolt://memgraph:7687")
    monkeypatch.setenv("API_KEY", "sekrit-value")
    monkeypatch.setenv("MESHOPTIXIQ_API_URL", "http://gw:8000")
    assert Graph().memgraph_uri == "bolt://memgraph:7687"
    gateway = Gateway()
    assert gateway.port == 8000
    assert gateway.api_key is not None and gateway.api_key.get_secret_value() == "sekrit-value"
    assert "sekrit-value" not in repr(gateway)
    assert Mcp().api_url == "http://gw:8000"


def test_kafka_prefixes(monkeypatch) -> None:
    from meshq_audit.settings import Settings

    monkeypatch.setenv("MESHQ_KAFKA_TOPIC_PREFIX", "t1.")
    monkeypatch.setenv("MESHQ_KAFKA_GROUP_PREFIX", "g1")
    settings = Settings()
    assert settings.topic("meshq.audit.events") == "t1.meshq.audit.events"
    assert settings.group("audit") == "g1.audit"
