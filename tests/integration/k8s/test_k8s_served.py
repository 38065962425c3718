"""The Kubernetes queries as a client sees them: ``meshq k8s sync`` writes an inventory into
the stack's data directory, and the gateway lists and answers the queries under their gate
(graph-engine reads the inventory directory it was started with)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from network_discovery.cli.main import cli
from support.demo_stack import DemoStack, demo_stack

pytestmark = pytest.mark.integration

KEY = "k8s-served-test-key-0123456789abcdef"
CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "k8s"
NAMES = ("meshq_k8s_pods", "meshq_k8s_services", "meshq_k8s_nodes", "meshq_k8s_blast_radius")


@pytest.fixture(scope="module")
def served(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    tmp = tmp_path_factory.mktemp("k8s-served")
    with demo_stack(stack, tmp, MESHOPTIXIQ_DEMO_MODE="true", API_KEY=KEY) as running:
        files = sorted(str(p) for p in CAPTURES.glob("*.json"))
        synced = CliRunner().invoke(
            cli,
            ["k8s", "sync", "--cluster", "captures", *files],
            env={"MESHQ_DATA_DIR": str(tmp / "data")},
        )
        assert synced.exit_code == 0, synced.output
        yield running


def _call(running: DemoStack, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(
        method, running.gateway.url + path, json=body, headers={"X-API-Key": KEY}, timeout=60
    )


def test_listed_with_the_gate(served: DemoStack) -> None:
    listed = {q["name"]: q for q in _call(served, "GET", "/queries").json()}
    for name in NAMES:
        assert listed[name]["category"] == "Kubernetes"
        assert listed[name]["feature"] == "k8s_observability"


def test_the_synced_cluster_is_answered(served: DemoStack) -> None:
    answer = _call(served, "POST", "/queries/meshq_k8s_nodes", {"cluster": "captures"})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert [(r["node"], r["redundancy"]) for r in rows] == [
        ("m01", "unknown"),
        ("minikube", "unknown"),
    ]
    pods = _call(served, "POST", "/queries/meshq_k8s_pods", {"node": "minikube"}).json()["rows"]
    assert [(p["namespace"], p["pod"]) for p in pods] == [("default", "nginx")]


def test_bad_parameters_are_a_problem_with_the_field(served: DemoStack) -> None:
    answer = _call(served, "POST", "/queries/meshq_k8s_pods", {"label": "a b"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "label" in answer.text
