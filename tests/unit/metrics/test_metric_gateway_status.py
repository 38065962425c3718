"""What the gateway makes of graph-engine's 503 for a store it answers from (the metrics store
not configured, or away): the same status and problem, where other 5xx become 502."""

from __future__ import annotations

import json

import pytest
from meshq_graph_engine.catalogue.metrics import _NOT_CONFIGURED
from meshq_graph_engine.settings import Settings
from meshq_query_gateway.graph_hop import graph_problem


def test_a_503_reaches_the_client_as_503_with_its_problem() -> None:
    body = {"title": "Metrics not configured", "status": 503, "detail": _NOT_CONFIGURED}
    problem = graph_problem(503, json.dumps(body).encode(), "/internal/queries/link_utilization")
    assert problem.status == 503
    assert problem.title == "Metrics not configured"
    assert problem.detail == _NOT_CONFIGURED and "MESHQ_POSTGRES_URL" in problem.detail
    other = graph_problem(500, b'{"title": "boom"}', "/internal/queries/all_devices")
    assert other.status == 502


def test_graph_engine_opens_the_metrics_store_only_when_told_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MESHQ_POSTGRES_URL", raising=False)
    assert not Settings().metrics_configured
    assert not Settings(MESHQ_POSTGRES_URL=" ").metrics_configured  # type: ignore[call-arg]
    assert Settings(MESHQ_POSTGRES_URL="postgresql://db/meshq").metrics_configured  # type: ignore[call-arg]
