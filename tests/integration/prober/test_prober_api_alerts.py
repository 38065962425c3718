"""The prober's HTTP routes (the probe API, the Synthetic queries, the license gate) served in
process, and the alerts service's built-in probe rule raising an alert that carries the failing
probe's path, and resolving it once the probe recovers — the alerts service's evaluator asking
the prober."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from meshq_alerts.evaluator import Evaluator, GraphQueries
from meshq_alerts.settings import Settings as AlertSettings
from meshq_alerts.store import MIGRATIONS as ALERT_MIGRATIONS
from meshq_alerts.store import AlertStore
from meshq_alerts.store import init_connection as alert_connection
from meshq_prober.app import ROUTES, ProberDeps
from meshq_prober.checks import Prober
from meshq_prober.explain import PathExplainer
from meshq_prober.runner import Runner
from meshq_prober.settings import Settings
from meshq_prober.store import ProbeStore
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.license import LicenseFollower
from support.pgdb import migrated_pool

pytestmark = pytest.mark.integration

PROBE_RULE = "synthetic-probe-failing"


@dataclass
class ProberLab:
    client: httpx.AsyncClient
    runner: Runner
    store: ProbeStore


@pytest.fixture
async def prober_lab(
    probe_store: ProbeStore, graph_client: httpx.AsyncClient
) -> AsyncIterator[ProberLab]:
    settings = Settings.model_validate(
        {"MESHQ_PROBER_MIN_INTERVAL": 1, "MESHQ_PROBER_MAX_PROBES": 3}
    )
    prober = Prober()
    runner = Runner(
        probe_store, prober, PathExplainer(graph_client), settings.limits(), retention_s=3600
    )
    state: ServiceState[ProberDeps] = ServiceState(service="prober")
    # the agent is never asked here: the plan is Community until demo mode opens the gates
    state.deps = ProberDeps(
        store=probe_store, runner=runner, license=LicenseFollower(settings), settings=settings
    )
    app = build_app(
        service="prober",
        route_handlers=ROUTES,
        state=state,
    )
    # in the test's own event loop, where the store's pool lives
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://prober") as client:
            yield ProberLab(client, runner, probe_store)
    finally:
        await prober.aclose()


@pytest.fixture
async def alert_store(stack) -> AsyncIterator[AlertStore]:
    schema = (("alerts", ALERT_MIGRATIONS),)
    async with migrated_pool(stack.postgres_url, "meshq_alerts", schema, alert_connection) as pool:
        yield AlertStore(pool)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_gated_by_synthetic_monitoring(
    prober_lab: ProberLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MESHOPTIXIQ_DEMO_MODE", raising=False)
    listed = await prober_lab.client.get("/internal/queries")
    assert {q["name"] for q in listed.json()} == {
        "meshq_synthetic_probes",
        "meshq_synthetic_results",
    }
    assert {q["feature"] for q in listed.json()} == {"synthetic_monitoring"}
    refused = await prober_lab.client.post("/internal/queries/meshq_synthetic_probes", json={})
    assert refused.status_code == 403
    assert refused.json()["feature"] == "synthetic_monitoring"
    created = await prober_lab.client.post(
        "/internal/probes", json={"name": "x", "kind": "icmp", "host": "192.0.2.1"}
    )
    assert created.status_code == 403


async def test_probe_api(prober_lab: ProberLab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHOPTIXIQ_DEMO_MODE", "true")
    c = prober_lab.client
    body = {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": closed_port()}
    created = await c.post("/internal/probes", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["interval_s"] == 60.0
    assert (await c.post("/internal/probes", json=body)).status_code == 409
    bad = await c.post("/internal/probes", json={**body, "name": "b", "interval_s": 0.5})
    assert bad.status_code == 422
    assert "interval_s: at least 1" in bad.json()["detail"]
    ran = await c.post("/internal/probes/db/run")
    assert ran.status_code == 200
    assert ran.json()["success"] is False
    rows = (await c.post("/internal/queries/meshq_synthetic_probes", json={"state": "down"})).json()
    assert [r["name"] for r in rows["rows"]] == ["db"]
    one = await c.get("/internal/probes/db")
    assert one.status_code == 200
    assert (one.json()["state"], one.json()["origin"], one.json()["failures"]) == ("down", "api", 1)
    # a new definition replaces the old one in the store and in the runner's schedule
    changed = await c.put("/internal/probes/db", json={**body, "interval_s": 2, "timeout_s": 1})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["interval_s"], changed.json()["timeout_s"]) == (2.0, 1.0)
    assert (await c.get("/internal/probes/db")).json()["definition"]["interval_s"] == 2.0
    await prober_lab.runner._sync()  # what the runner's wake-up does
    assert prober_lab.runner.running == ["db"]
    assert prober_lab.runner._tasks["db"][0].interval_s == 2.0
    renamed = await c.put("/internal/probes/db", json={**body, "name": "other"})
    assert renamed.status_code == 422 and renamed.json()["field"] == "name"
    out_of_bounds = await c.put("/internal/probes/db", json={**body, "interval_s": 0.1})
    assert out_of_bounds.status_code == 422
    assert (await c.put("/internal/probes/nope", json=body | {"name": "nope"})).status_code == 404
    assert (await c.delete("/internal/probes/db")).status_code == 204
    assert (await c.delete("/internal/probes/db")).status_code == 404
    assert (await c.post("/internal/probes/db/run")).status_code == 404
    assert (await c.get("/internal/probes/db")).status_code == 404
    await prober_lab.runner._sync()
    assert prober_lab.runner.running == []
    await prober_lab.runner.stop()


async def test_failing_probe_raises_an_alert_and_resolves(
    prober_lab: ProberLab, alert_store: AlertStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHOPTIXIQ_DEMO_MODE", "true")
    # the alerts service's built-in rules, as it loads them when it has a prober to ask
    builtin = AlertSettings.model_validate({"MESHQ_PROBER_URL": "http://prober"}).load_rules()
    assert PROBE_RULE not in {r.name for r in AlertSettings().load_rules()}
    rules = [r for r in builtin if r.name == PROBE_RULE]
    assert len(rules) == 1
    # the port is closed, and in the graph telnet from 10.10.10.101 stops at hq-fw-01
    port = closed_port()
    spec = {
        "name": "telnet-out",
        "kind": "tcp",
        "host": "127.0.0.1",
        "port": port,
        "source": "10.10.10.101",
    }
    assert (await prober_lab.client.post("/internal/probes", json=spec)).status_code == 201
    evaluator = Evaluator(
        rules,
        alert_store,
        GraphQueries(prober_lab.client, {"meshq_synthetic_": prober_lab.client}),
    )

    async def firing() -> list[dict[str, Any]]:
        alerts, _ = await alert_store.find(
            states=("firing",),
            severity=None,
            device=None,
            rule=None,
            since=None,
            limit=10,
            offset=0,
        )
        return alerts

    await prober_lab.client.post("/internal/probes/telnet-out/run")
    first = await evaluator.run_once()
    assert first.failed == {}
    assert await firing() == []  # one failure is not yet an alert
    await prober_lab.client.post("/internal/probes/telnet-out/run")
    second = await evaluator.run_once()
    assert second.failed == {}
    (alert,) = await firing()
    assert alert["rule"] == PROBE_RULE and alert["severity"] == "high"
    assert alert["summary"].startswith(f"probe telnet-out to 127.0.0.1:{port} fails: ")
    assert alert["description"] == (
        "path denied, stopped at hq-fw-01: denied by the default action of security on hq-fw-01"
    )
    assert alert["row"]["failures"] == 2
    path = alert["row"]["path"]
    assert path["status"] == "known"
    assert path["flow"]["source"] == "10.10.10.101"
    assert path["stopped_at"]["device"] == "hq-fw-01"
    assert path["stopped_at"]["decision"]["action"] == "deny"
    assert datetime.fromisoformat(alert["starts_at"]) <= datetime.now(UTC)
    # the device that stops the flow names the alert
    by_device, _ = await alert_store.find(
        states=("firing",),
        severity=None,
        device="hq-fw-01",
        rule=None,
        since=None,
        limit=10,
        offset=0,
    )
    assert [a["alert_id"] for a in by_device] == [alert["alert_id"]]
    assert alert["devices"] == ["hq-fw-01"]

    # the target answers again: the next run succeeds and the alert resolves
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen(8)
        ran = await prober_lab.client.post("/internal/probes/telnet-out/run")
        assert ran.json()["success"] is True, ran.json()
    third = await evaluator.run_once()
    assert third.failed == {}
    assert [t.alert["alert_id"] for t in third.resolved] == [alert["alert_id"]]
    assert await firing() == []
    resolved, _ = await alert_store.find(
        states=("resolved",), severity=None, device=None, rule=None, since=None, limit=10, offset=0
    )
    assert [a["alert_id"] for a in resolved] == [alert["alert_id"]]


async def test_the_probe_rule_waits_quietly_for_the_plan(
    prober_lab: ProberLab, alert_store: AlertStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without synthetic_monitoring the prober refuses the rule's query: the round says so for
    that rule (no alert raised or resolved), and the next round with the flag evaluates it."""
    monkeypatch.delenv("MESHOPTIXIQ_DEMO_MODE", raising=False)
    builtin = AlertSettings.model_validate({"MESHQ_PROBER_URL": "http://prober"}).load_rules()
    evaluator = Evaluator(
        [r for r in builtin if r.name == PROBE_RULE],
        alert_store,
        GraphQueries(prober_lab.client, {"meshq_synthetic_": prober_lab.client}),
    )
    refused = await evaluator.run_once()
    assert refused.failed == {
        PROBE_RULE: "the plan lacks synthetic_monitoring, which meshq_synthetic_probes needs"
    }
    assert refused.fired == []
    monkeypatch.setenv("MESHOPTIXIQ_DEMO_MODE", "true")
    allowed = await evaluator.run_once()
    assert allowed.failed == {} and [e.rule for e in allowed.evaluations] == [PROBE_RULE]
