"""``/audit/*``, ``/soar/replay`` and ``/netbox/sync`` of the gateway, with the services behind
them replaced by ``httpx.MockTransport``: who may call them, what is passed on (and with which
credential), how the services' answers come back, and the OpenAPI document."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from meshq_query_gateway.app import create_app
from meshq_query_gateway.context import Gateway
from meshq_query_gateway.gates import LicenseGate
from meshq_query_gateway.policy_store import PolicyStore
from meshq_query_gateway.settings import Settings
from network_discovery.contracts.envelope import EventBase
from network_discovery.contracts.events import LicenseStateData, NetboxSyncRequested
from network_discovery.licensing.plans import features_for

KEY = "unit-admin-" + "k" * 32
ADMIN = {"X-API-Key": KEY}
POLICY = """
roles:
  auditors: {resources: [audit_log], verbs: [execute]}
  network: ["topology_*"]
groups:
  Auditors: [auditors]
  Network-Ops: [network]
"""


class Plan:
    """What the license gate reads: a plan's flags."""

    def __init__(self, plan: str) -> None:
        self.state = LicenseStateData(plan=plan, status="active", features=features_for(plan))

    def check(self, feature: str) -> bool:
        return bool(self.state.features.get(feature))


class Bus:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[EventBase] = []
        self.fail = fail

    async def publish(self, event: EventBase) -> None:
        if self.fail:
            raise ConnectionError("broker away")
        self.events.append(event)


class Services:
    """The audit service and the SOAR dispatcher: what they were asked, what they answer."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []
        self.answers: dict[str, httpx.Response] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.path in self.answers:
            return self.answers[request.url.path]
        if request.url.path == "/audit/verify":
            return httpx.Response(200, json={"checked": 3, "from": 1, "last_seq": 3, "break": None})
        if request.url.path == "/audit/export":
            if request.url.params.get("format") == "csv":
                return httpx.Response(
                    200, content=b"seq\n1\n", headers={"content-type": "text/csv; charset=utf-8"}
                )
            lines = b"".join(b'{"seq": %d}\n' % i for i in range(1, 2001))
            return httpx.Response(
                200, content=lines, headers={"content-type": "application/x-ndjson"}
            )
        if request.url.path == "/soar/replay":
            counts = {"replayed": 1, "delivered": 1, "dead_lettered": 0, "skipped": 0}
            return httpx.Response(200, json={**counts, "imported": 0})
        return httpx.Response(404)


def _app(
    tmp_path: Path,
    *,
    plan: str = "community",
    rbac: bool = False,
    configured: bool = True,
    bus: Bus | None = None,
    services: Services | None = None,
) -> tuple[Litestar, Bus, Services]:
    keys = tmp_path / "keys.json"
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    app = create_app(Settings(API_KEY=KEY, MESHQ_API_KEYS_FILE=str(keys)))
    store = PolicyStore(policy if rbac else None, interval=30.0)
    if rbac:
        store.reload(reason="test")
    follower = Plan(plan)
    bus = bus or Bus()
    services = services or Services()
    clients: dict[str, Any] = {}
    if configured:
        for key, url in (("audit_client", "http://audit"), ("soar_client", "http://soar")):
            clients[key] = httpx.AsyncClient(
                base_url=url,
                transport=httpx.MockTransport(services),
                headers={"X-MeshQ-Service-Token": "s" * 48, "X-MeshQ-Caller": "query-gateway"},
            )
    app.state.service.deps = Gateway(
        graph=httpx.AsyncClient(),
        gate=LicenseGate(follower),
        rbac=store,
        follower=follower,
        bus=bus,
        **clients,
    )
    return app, bus, services


def _key(keys: Path, name: str, *groups: str) -> dict[str, str]:
    from click.testing import CliRunner
    from network_discovery.cli.apikey import apikey

    args = ["create", name, "--file", str(keys)]
    for group in groups:
        args += ["--group", group]
    made = CliRunner().invoke(apikey, args)
    assert made.exit_code == 0, made.output
    return {"X-API-Key": made.stdout.strip().splitlines()[0]}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient[Litestar], Bus, Services]]:
    app, bus, services = _app(tmp_path)
    with TestClient(app) as test:
        yield test, bus, services


def test_the_admin_verifies_and_the_call_carries_the_service_credential(
    tmp_path: Path,
) -> None:
    app, _, services = _app(tmp_path)
    test = TestClient(app)
    answer = test.get("/audit/verify", params={"from": 2}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["checked"] == 3
    sent = services.seen[-1]
    assert sent.url.params["from"] == "2"
    assert sent.headers["x-meshq-service-token"] == "s" * 48
    assert "x-api-key" not in sent.headers  # the caller's key stays at the gateway
    bad = test.get("/audit/verify", params={"from": 0}, headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "start"


def test_the_export_is_streamed_through(tmp_path: Path) -> None:
    app, _, services = _app(tmp_path)
    test = TestClient(app)
    with test.stream("GET", "/audit/export", params={"since": "x"}, headers=ADMIN) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/x-ndjson"
        assert "content-length" not in answer.headers  # streamed, not buffered
        lines = b"".join(answer.iter_bytes()).splitlines()
    assert len(lines) == 2000 and json.loads(lines[-1]) == {"seq": 2000}
    assert dict(services.seen[-1].url.params) == {"format": "jsonl", "since": "x"}
    csv = test.get("/audit/export", params={"format": "csv"}, headers=ADMIN)
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.text == "seq\n1\n"


def test_the_services_refusals_come_back_as_they_are(tmp_path: Path) -> None:
    services = Services()
    services.answers["/audit/export"] = httpx.Response(
        422,
        json={
            "type": "about:blank",
            "title": "Invalid parameters",
            "status": 422,
            "detail": "since must be an RFC 3339 time",
            "errors": [{"field": "since", "message": "expected e.g. 2026-03-06T14:22:00Z"}],
        },
    )
    services.answers["/audit/verify"] = httpx.Response(
        403,
        json={
            "type": "about:blank",
            "title": "Feature not available",
            "status": 403,
            "detail": "the audit log needs the 'audit_logging' flag",
            "feature": "audit_logging",
            "plan": "community",
        },
    )
    services.answers["/soar/replay"] = httpx.Response(500, text="boom")
    app, _, _ = _app(tmp_path, services=services)
    test = TestClient(app)
    invalid = test.get("/audit/export", params={"since": "x"}, headers=ADMIN)
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [
        {"field": "since", "message": "expected e.g. 2026-03-06T14:22:00Z"}
    ]
    refused = test.get("/audit/verify", headers=ADMIN)
    assert refused.status_code == 403
    assert (refused.json()["feature"], refused.json()["plan"]) == ("audit_logging", "community")
    failed = test.post("/soar/replay", headers=ADMIN)
    assert failed.status_code == 502 and failed.json()["detail"] == "boom"


def test_a_service_refusing_the_gateways_credential_is_a_502(tmp_path: Path) -> None:
    services = Services()
    services.answers["/soar/replay"] = httpx.Response(
        401, json={"title": "Unauthorized", "status": 401, "detail": "not this installation's"}
    )
    app, _, _ = _app(tmp_path, services=services)
    answer = TestClient(app).post("/soar/replay", headers=ADMIN)
    assert answer.status_code == 502
    assert "did not accept this gateway's service credential" in answer.json()["detail"]


def test_a_service_that_is_not_configured_or_away(tmp_path: Path) -> None:
    app, _, _ = _app(tmp_path, configured=False)
    test = TestClient(app)
    for method, path, env in (
        ("GET", "/audit/verify", "MESHQ_AUDIT_URL"),
        ("GET", "/audit/export", "MESHQ_AUDIT_URL"),
        ("POST", "/soar/replay", "MESHQ_SOAR_DISPATCHER_URL"),
    ):
        answer = test.request(method, path, headers=ADMIN)
        assert answer.status_code == 409, path
        assert answer.json()["field"] == env and env in answer.json()["detail"]

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    app, _, _ = _app(tmp_path)
    app.state.service.deps = dataclasses.replace(
        app.state.service.deps,
        audit_client=httpx.AsyncClient(
            base_url="http://audit", transport=httpx.MockTransport(down)
        ),
    )
    away = TestClient(app).get("/audit/verify", headers=ADMIN)
    assert away.status_code == 503
    assert away.json()["detail"] == "the audit service did not answer (ConnectError)"


def test_without_rbac_only_the_admin_key_may(tmp_path: Path) -> None:
    app, _, services = _app(tmp_path, plan="enterprise")
    named = _key(tmp_path / "keys.json", "auditor", "Auditors")
    test = TestClient(app)
    for method, path, resource in (
        ("GET", "/audit/verify", "audit_log"),
        ("GET", "/audit/export", "audit_log"),
        ("POST", "/soar/replay", "soar_replay"),
    ):
        refused = test.request(method, path, headers=named)
        assert refused.status_code == 403, path
        assert (refused.json()["verb"], refused.json()["resource"]) == ("execute", resource)
    refused = test.post("/netbox/sync", json={"direction": "pull"}, headers=named)
    assert refused.status_code == 403 and refused.json()["resource"] == "netbox_sync"
    assert services.seen == []


def test_under_rbac_a_role_may_be_granted_a_resource(tmp_path: Path) -> None:
    app, _, _ = _app(tmp_path, plan="enterprise", rbac=True)
    auditor = _key(tmp_path / "keys.json", "auditor", "Auditors")
    network = _key(tmp_path / "keys.json", "ops", "Network-Ops")
    test = TestClient(app)
    assert test.get("/audit/verify", headers=auditor).status_code == 200
    assert test.get("/audit/export", headers=auditor).status_code == 200
    assert test.post("/soar/replay", headers=auditor).status_code == 403
    assert test.get("/audit/verify", headers=network).status_code == 403
    assert test.post("/soar/replay", headers=ADMIN).status_code == 200


def test_a_netbox_sync_is_published_and_answered_202(tmp_path: Path) -> None:
    app, bus, _ = _app(tmp_path, plan="enterprise")
    test = TestClient(app)
    answer = test.post(
        "/netbox/sync",
        json={"direction": "push", "dry_run": True},
        headers={**ADMIN, "X-Correlation-ID": "sync-1"},
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    event = bus.events[0]
    assert isinstance(event, NetboxSyncRequested)
    assert (event.data.direction, event.data.dry_run, event.data.requested_by) == (
        "push",
        True,
        "admin",
    )
    assert event.correlation_id == "sync-1" == body["correlation_id"]
    assert body == {
        "requested": True,
        "direction": "push",
        "dry_run": True,
        "requested_by": "admin",
        "event_id": event.id,
        "correlation_id": "sync-1",
    }
    for bad in ({"direction": "sideways"}, {"direction": "pull", "dry_run": 1}, {}, {"x": 1}):
        refused = test.post("/netbox/sync", json=bad, headers=ADMIN)
        assert refused.status_code == 400, bad
    assert len(bus.events) == 1


def test_a_netbox_sync_needs_the_flag_and_a_broker(tmp_path: Path) -> None:
    app, bus, _ = _app(tmp_path, plan="starter")
    refused = TestClient(app).post("/netbox/sync", json={"direction": "pull"}, headers=ADMIN)
    assert refused.status_code == 403 and refused.json()["feature"] == "netbox_sync"
    assert bus.events == []
    app, _, _ = _app(tmp_path, plan="enterprise", bus=Bus(fail=True))
    away = TestClient(app).post("/netbox/sync", json={"direction": "pull"}, headers=ADMIN)
    assert away.status_code == 503 and away.headers["retry-after"] == "5"


def test_the_document_lists_what_the_routes_answer() -> None:
    document = TestClient(create_app(Settings(API_KEY=KEY))).get("/schema/openapi.json").json()
    paths = document["paths"]
    expected = {
        ("/audit/verify", "get"): {"400", "401", "403", "409", "429", "502", "503"},
        ("/audit/export", "get"): {"400", "401", "403", "409", "422", "429", "502", "503"},
        ("/soar/replay", "post"): {"401", "403", "409", "429", "502", "503"},
        ("/netbox/sync", "post"): {"400", "401", "403", "413", "429", "503"},
    }
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), path
        assert paths[path][method]["security"] == [{"ApiKey": []}]
    export = paths["/audit/export"]["get"]["responses"]["200"]["content"]
    assert {"application/x-ndjson", "text/csv"} <= set(export)
    assert "202" in paths["/netbox/sync"]["post"]["responses"]
