"""Probes, correlation ids and problem+json, on an app built like every service's."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import get, post
from litestar.params import FromPath, JSONBody
from litestar.testing import TestClient
from meshq_runtime.http import ProblemError, ServiceState, build_app
from structlog.testing import capture_logs


async def _up() -> None:
    return None


async def _down() -> None:
    raise ConnectionRefusedError("connection refused")


@get("/boom")
async def boom() -> None:
    raise ProblemError(409, "Conflict", "it already exists", field="name")


def _client(probes) -> TestClient:
    state = ServiceState(service="svc", probes=probes)
    return TestClient(build_app(service="svc", state=state, route_handlers=[boom]))


def test_health_is_200_even_when_dependencies_are_down() -> None:
    with _client([("postgres", _down)]) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "svc"}


def test_ready_names_the_dependency_that_is_down() -> None:
    with _client([("kafka", _up), ("postgres", _down)]) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["unavailable"] == ["postgres"]
    assert body["checks"] == {"kafka": "up", "postgres": "down"}
    assert "postgres is unreachable" in body["detail"]


def test_ready_is_200_when_every_dependency_answers() -> None:
    with _client([("kafka", _up), ("redis", _up)]) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"kafka": "up", "redis": "up"}


def test_correlation_id_is_echoed_or_generated() -> None:
    with _client([]) as client:
        echoed = client.get("/health", headers={"X-Correlation-ID": "abc-123"})
        generated = client.get("/health")
        hostile = client.get("/health", headers={"X-Correlation-ID": "a b; drop"})
    assert echoed.headers["x-correlation-id"] == "abc-123"
    assert len(generated.headers["x-correlation-id"]) == 36
    assert hostile.headers["x-correlation-id"] != "a b; drop"


def test_problem_errors_are_rfc9457() -> None:
    with _client([]) as client:
        response = client.get("/boom")
        missing = client.get("/nope")
    assert response.status_code == 409
    assert response.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "it already exists",
        "field": "name",
    }
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["title"] == "Not Found"


@post("/echo")
async def echo(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return {"keys": len(data)}


@get("/bug")
async def bug() -> None:
    raise KeyError("a key our own code forgot")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,  # nested past any decoder's depth
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b'{"a": "\xff\xfe"}',  # not UTF-8
    ],
)
def test_an_unreadable_body_is_a_400_problem_not_a_500(body: bytes) -> None:
    with capture_logs() as logs:
        with TestClient(build_app(service="svc", route_handlers=[echo])) as client:
            headers = {"content-type": "application/json"}
            response = client.post("/echo", content=body, headers=headers)
            assert client.post("/echo", json={"a": 1}).json() == {"keys": 1}  # the next caller
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Bad Request"
    assert "http.body_unreadable" in [e["event"] for e in logs]


def test_our_own_error_is_a_logged_500_problem_with_the_correlation_id() -> None:
    with capture_logs() as logs:
        with TestClient(build_app(service="svc", route_handlers=[bug])) as client:
            response = client.get("/bug", headers={"X-Correlation-ID": "corr-bug-1"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "forgot" not in response.text  # nothing of the internals
    [event] = [e for e in logs if e["event"] == "http.unexpected_error"]
    assert "KeyError" in event["error"] and event["path"] == "/bug"
    assert event["correlation_id"] == "corr-bug-1"


@get("/things/{name:str}", sync_to_thread=False)
def read_thing(name: FromPath[str]) -> dict[str, str]:
    return {"name": name}


@post("/things/{name:str}", sync_to_thread=False)
def make_thing(name: FromPath[str]) -> dict[str, str]:
    return {"name": name}


def test_a_method_the_path_lacks_is_405_with_allow() -> None:
    """RFC 9110: a 405 lists the methods the path has (Litestar's exception carries them; the
    problem handler used to drop them)."""
    app = build_app(service="svc", route_handlers=[read_thing, make_thing])
    with TestClient(app) as client:
        refused = client.delete("/things/a")
        probe = client.put("/health")
    assert refused.status_code == 405
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert {m.strip() for m in refused.headers["allow"].split(",")} == {"GET", "POST", "OPTIONS"}
    assert refused.json()["status"] == 405 and "GET" in refused.json()["detail"]
    assert probe.status_code == 405
    assert {m.strip() for m in probe.headers["allow"].split(",")} == {"GET", "OPTIONS"}


def test_answers_of_the_router_carry_the_correlation_id_too() -> None:
    """404 and 405 are answered before any route's middleware runs."""
    app = build_app(service="svc", route_handlers=[read_thing, make_thing])
    with TestClient(app) as client:
        missing = client.get("/nowhere", headers={"X-Correlation-ID": "c-404"})
        refused = client.delete("/things/a", headers={"X-Correlation-ID": "c-405"})
        generated = client.delete("/things/a")
        routed = client.get("/things/a", headers={"X-Correlation-ID": "c-200"})
    assert missing.status_code == 404 and missing.headers["x-correlation-id"] == "c-404"
    assert refused.headers["x-correlation-id"] == "c-405"
    assert len(generated.headers["x-correlation-id"]) == 36
    assert routed.headers.get_list("x-correlation-id") == ["c-200"]


def test_options_lists_every_method_of_a_path_with_several_handlers() -> None:
    """Litestar's own OPTIONS answer names only the methods of the path's first handler."""
    app = build_app(service="svc", route_handlers=[read_thing, make_thing])
    with TestClient(app) as client:
        answer = client.options("/things/a")
        health = client.options("/health")
    assert answer.status_code == 204
    assert answer.headers["allow"] == "GET, OPTIONS, POST"
    assert health.headers["allow"] == "GET, OPTIONS"
