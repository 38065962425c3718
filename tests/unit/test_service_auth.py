"""The service credential of internal HTTP: where it comes from, how it is checked (constant
time, 401 problem+json, probes open), that it is never shown, and what the client sends."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import get
from litestar.datastructures import State
from litestar.testing import TestClient
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.service_auth import (
    OPEN_PATHS,
    ServiceAuthMiddleware,
    ServiceCredential,
    generate_token,
    internal_client,
    load_or_create_token,
    read_service_token,
    service_credential,
    token_file,
)
from meshq_runtime.settings import LicenseClientSettings, ServiceSettings
from structlog.testing import capture_logs

TOKEN = generate_token()


@get("/internal/thing")
async def thing(state: State) -> dict[str, Any]:
    return {"ok": True}


@get("/metrics", media_type="text/plain")
async def metrics() -> str:
    return "up 1\n"


def _client(open_paths: frozenset[str] = OPEN_PATHS) -> TestClient:
    credential = ServiceCredential(TOKEN, caller="graph-engine")
    app = build_app(
        service="svc",
        state=ServiceState(service="svc"),
        route_handlers=[thing, metrics],
        middleware_extra=[ServiceAuthMiddleware(credential, open_paths=open_paths)],
    )
    return TestClient(app)


def _auth(token: str = TOKEN, caller: str = "query-gateway") -> dict[str, str]:
    return {"X-MeshQ-Service-Token": token, "X-MeshQ-Caller": caller}


def test_probes_are_open_and_everything_else_needs_the_credential() -> None:
    with _client() as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200
        # (a path no route answers is a 404 before any middleware runs, with or without it)
        for path in ("/internal/thing", "/metrics", "/schema/openapi.json"):
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["content-type"].startswith("application/problem+json")
            body = refused.json()
            assert body["status"] == 401 and body["title"] == "Unauthorized"
            assert "X-MeshQ-Service-Token" in body["detail"]
            assert refused.headers["x-correlation-id"]
        assert client.get("/internal/thing", headers=_auth()).json() == {"ok": True}


def test_a_wrong_credential_of_the_same_length_is_refused() -> None:
    wrong = ("x" if TOKEN[0] != "x" else "y") + TOKEN[1:]
    assert len(wrong) == len(TOKEN)
    with _client() as client:
        for headers in (
            _auth(wrong),
            _auth(TOKEN[:-1]),
            _auth(TOKEN + "x"),
            _auth(TOKEN.lower() if TOKEN.lower() != TOKEN else TOKEN.upper()),
            {"X-MeshQ-Service-Token": ""},
        ):
            refused = client.get("/internal/thing", headers=headers)
            assert refused.status_code == 401
            assert "not this installation's" in refused.json()["detail"]
        # two credentials in one request: refused, even when one of them is right
        two = httpx.Headers([("X-MeshQ-Service-Token", TOKEN), ("X-MeshQ-Service-Token", wrong)])
        assert client.get("/internal/thing", headers=two).status_code == 401


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    with _client() as client:
        client.get("/internal/thing", headers=_auth("z" * len(TOKEN)))
        client.get("/internal/thing", headers=_auth())
    assert [a for a, _ in calls] == [b"z" * len(TOKEN), TOKEN.encode()]


def test_a_service_names_its_open_paths() -> None:
    with _client(OPEN_PATHS | {"/metrics"}) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/metrics/").status_code in (200, 404)  # never a 401
        assert client.get("/internal/thing").status_code == 401


def test_refusals_are_logged_without_the_credential() -> None:
    wrong = "w" * len(TOKEN)
    with capture_logs() as logs, _client() as client:
        client.get("/internal/thing", headers=_auth(wrong, caller="netbox-sync"))
        client.get("/internal/thing")
        client.get("/internal/thing", headers=_auth())
    refused = [e for e in logs if e["event"] == "service_auth.refused"]
    assert [(e["reason"], e["caller"], e["path"]) for e in refused] == [
        ("wrong", "netbox-sync", "/internal/thing"),
        ("missing", None, "/internal/thing"),
    ]
    assert TOKEN not in repr(logs) and wrong not in repr(logs)


def test_the_credential_is_never_shown() -> None:
    credential = ServiceCredential(TOKEN, caller="audit")
    assert TOKEN not in repr(credential) and TOKEN not in str(credential)
    settings = LicenseClientSettings(MESHQ_SERVICE_TOKEN=TOKEN)
    assert TOKEN not in repr(settings)
    assert credential.headers() == _auth(caller="audit")
    assert credential.headers("query-gateway")["X-MeshQ-Caller"] == "query-gateway"


@pytest.mark.parametrize(
    ("value", "message"),
    [("short", "at least 32 characters"), ("a b" * 20, "printable ASCII without spaces")],
)
def test_a_weak_or_malformed_credential_stops_the_service(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LicenseClientSettings(MESHQ_SERVICE_TOKEN=value)
    with pytest.raises(ValueError, match=message):
        ServiceCredential(value, caller="audit")


class _Settings(ServiceSettings, LicenseClientSettings):
    port: int = 0


def test_the_environment_wins_else_the_data_directory_keeps_one(tmp_path: Path) -> None:
    given = service_credential(
        _Settings(MESHQ_SERVICE_TOKEN=TOKEN, MESHQ_DATA_DIR=str(tmp_path)), caller="audit"
    )
    assert given.matches(TOKEN.encode()) and given.source == "MESHQ_SERVICE_TOKEN"
    assert not token_file(tmp_path).exists()

    settings = _Settings(MESHQ_DATA_DIR=str(tmp_path))
    first = service_credential(settings, caller="audit")
    path = token_file(tmp_path)
    assert first.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = path.read_text().strip()
    assert first.matches(stored.encode())
    again = service_credential(settings, caller="graph-engine")  # reused, not regenerated
    assert again.matches(stored.encode())
    # what the CLI reads: the environment first, else the same file
    assert read_service_token({}, tmp_path) == stored
    assert read_service_token({"MESHQ_SERVICE_TOKEN": TOKEN}, tmp_path) == TOKEN
    assert read_service_token({}, tmp_path / "elsewhere") is None
    path.chmod(0o644)
    assert load_or_create_token(path) == stored
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # ours: tightened again


def _create(path: str, queue: Any) -> None:
    queue.put(load_or_create_token(Path(path)))


def test_services_starting_together_agree_on_one_credential(tmp_path: Path) -> None:
    path = token_file(tmp_path)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_create, args=(str(path), queue)) for _ in range(6)]
    for p in procs:
        p.start()
    got = {queue.get(timeout=60) for _ in procs}
    for p in procs:
        p.join(timeout=60)
    assert got == {path.read_text().strip()}
    assert [p.name for p in path.parent.iterdir()] == ["service_token"]  # no temporaries


async def test_the_client_sends_the_credential_and_the_correlation_id() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    credential = ServiceCredential(TOKEN, caller="query-gateway")
    client = internal_client(
        credential, base_url="http://graph", transport=httpx.MockTransport(handler)
    )
    import structlog

    async with client:
        with structlog.contextvars.bound_contextvars(correlation_id="req-42"):
            await client.post("/internal/queries/all_devices", json={})
        await client.get("/internal/queries")
    first, second = seen
    assert first.headers["X-MeshQ-Service-Token"] == TOKEN
    assert first.headers["X-MeshQ-Caller"] == "query-gateway"
    assert first.headers["X-Correlation-ID"] == "req-42"
    assert "X-Correlation-ID" not in second.headers
