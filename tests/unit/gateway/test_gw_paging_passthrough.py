"""Paging handed to graph-engine: the gateway asks for ``?limit=L&offset=O`` and passes a paged
answer on as it is (its ``row_count`` is the total); an answer without ``offset`` (a
graph-engine that answers every row) is cut into the page here. The cursor is the same either
way. graph-engine is played by a local HTTP server that pages as the internal API says."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from meshq_query_gateway.apikeys import KeyFile
from meshq_query_gateway.auth import ApiKeyMiddleware
from meshq_query_gateway.context import Gateway
from meshq_query_gateway.gates import LicenseGate
from meshq_query_gateway.graph_hop import QueryHop
from meshq_query_gateway.policy_store import PolicyStore
from meshq_query_gateway.routes import collect_routes
from meshq_query_gateway.routes.queries import _cursor
from meshq_runtime.http import ServiceState, build_app
from network_discovery.contracts.events import LicenseStateData
from network_discovery.licensing.plans import features_for
from pydantic import SecretStr

KEY = "unit-admin-" + "k" * 32
ADMIN = {"X-API-Key": KEY}
TOKEN = "s" * 48
ROWS = [{"device": f"sw{n:02d}"} for n in range(7)]
CATALOGUE = [
    {
        "name": "all_devices",
        "category": "Inventory",
        "summary": "",
        "feature": "api_access",
        "community": True,
        "writes": False,
        "parameters": {"type": "object", "properties": {"role": {"type": "string"}}},
        "row_schema": None,
    }
]


class Plan:
    def __init__(self, plan: str) -> None:
        self.state = LicenseStateData(plan=plan, status="active", features=features_for(plan))

    def check(self, feature: str) -> bool:
        return bool(self.state.features.get(feature))


class GraphEngine:
    """``GET /internal/queries`` and ``POST /internal/queries/{name}``, paging when
    ``paged`` (else every row, without ``offset``); every call it took is in ``calls``."""

    def __init__(self) -> None:
        self.paged = True
        self.calls: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, CATALOGUE)

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.calls.append(
                    {
                        "path": parts.path,
                        "query": query,
                        "body": body,
                        "token": self.headers.get("X-MeshQ-Service-Token"),
                        "correlation": self.headers.get("X-Correlation-ID"),
                    }
                )
                answer: dict[str, Any] = {
                    "query": "all_devices",
                    "row_count": len(ROWS),
                    "elapsed_ms": 0.5,
                }
                if outer.paged:
                    offset, limit = int(query["offset"]), int(query["limit"])
                    answer.update(rows=ROWS[offset : offset + limit], offset=offset, limit=limit)
                else:
                    answer["rows"] = ROWS
                self._send(200, answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def engine() -> Iterator[GraphEngine]:
    server = GraphEngine()
    yield server
    server.close()


@pytest.fixture
def client(engine: GraphEngine, tmp_path: Path) -> Iterator[TestClient[Litestar]]:
    """The gateway's routes and authentication, without the services of its lifespan."""
    state: ServiceState[Gateway] = ServiceState(service="gw")
    app = build_app(
        service="gw",
        route_handlers=collect_routes(),
        state=state,
        middleware_extra=[ApiKeyMiddleware(SecretStr(KEY), KeyFile(tmp_path / "keys.json"))],
    )
    follower = Plan("pro")
    headers = {"X-MeshQ-Service-Token": TOKEN, "X-MeshQ-Caller": "query-gateway"}
    graph = httpx.AsyncClient(base_url=engine.url, headers=headers)
    hop = QueryHop(engine.url, headers)
    with TestClient(app) as test:
        state.deps = Gateway(
            graph=graph,
            gate=LicenseGate(follower),
            rbac=PolicyStore(None, interval=30.0),
            follower=follower,
            hop=hop,
        )
        yield test
        test.blocking_portal.call(hop.close)
        test.blocking_portal.call(graph.aclose)


def _pages(client: TestClient[Litestar], limit: int) -> list[dict[str, Any]]:
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        answer = client.post(
            "/queries/all_devices", params=params, json={"role": "x"}, headers=ADMIN
        )
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 10


def test_pages_are_asked_of_graph_engine(client: TestClient[Litestar], engine: GraphEngine) -> None:
    pages = _pages(client, 3)
    assert [[r["device"] for r in p["rows"]] for p in pages] == [
        ["sw00", "sw01", "sw02"],
        ["sw03", "sw04", "sw05"],
        ["sw06"],
    ]
    assert [p["offset"] for p in pages] == [0, 3, 6]
    assert all(p["row_count"] == 7 for p in pages)
    assert pages[0]["next_cursor"] == _cursor("all_devices", 3)
    asked = [c["query"] for c in engine.calls]
    assert asked == [
        {"limit": "3", "offset": "0"},
        {"limit": "3", "offset": "3"},
        {"limit": "3", "offset": "6"},
    ]
    call = engine.calls[0]
    assert call["path"] == "/internal/queries/all_devices" and call["body"] == {"role": "x"}
    assert call["token"] == TOKEN
    # the default page size is asked for when the caller names none
    assert client.get("/queries/all_devices", headers=ADMIN).status_code == 200
    assert engine.calls[-1]["query"] == {"limit": "1000", "offset": "0"}


def test_a_graph_engine_that_answers_every_row_is_paged_here(
    client: TestClient[Litestar], engine: GraphEngine
) -> None:
    engine.paged = False
    pages = _pages(client, 3)
    assert [[r["device"] for r in p["rows"]] for p in pages] == [
        ["sw00", "sw01", "sw02"],
        ["sw03", "sw04", "sw05"],
        ["sw06"],
    ]
    assert [p["offset"] for p in pages] == [0, 3, 6]
    assert all(p["row_count"] == 7 for p in pages)
    assert pages[0]["next_cursor"] == _cursor("all_devices", 3)


def test_the_last_full_page_has_no_cursor(
    client: TestClient[Litestar], engine: GraphEngine
) -> None:
    for paged in (True, False):
        engine.paged = paged
        pages = _pages(client, 7)
        assert len(pages) == 1 and pages[0]["next_cursor"] is None
        assert len(pages[0]["rows"]) == 7
