"""The audit buffer: nothing dropped while the broker fails, order kept, 503 when full, spool
across a restart; and which calls are audited (401 on a named query, not on the listing)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from litestar import get
from litestar.params import FromPath
from litestar.testing import TestClient
from meshq_query_gateway.audit import AuditMiddleware
from meshq_query_gateway.audit_buffer import AuditBuffer
from meshq_query_gateway.auth import ApiKeyMiddleware
from meshq_query_gateway.context import Gateway
from meshq_runtime.http import ServiceState, build_app
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent
from pydantic import SecretStr


def _event(n: int) -> AuditRequestEvent:
    data = AuditRequestData(
        principal="p", auth_method="api_key", method="GET", path=f"/q/{n}", status=200, elapsed_ms=1
    )
    return AuditRequestEvent(source="query-gateway", data=data)


class Broker:
    def __init__(self) -> None:
        self.up = False
        self.sent: list[str] = []
        self.tries = 0

    async def publish(self, event: AuditRequestEvent) -> None:
        self.tries += 1
        if not self.up:
            raise ConnectionError("broker down")
        self.sent.append(event.data.path)


async def test_events_wait_for_the_broker_in_order() -> None:
    broker = Broker()
    buffer = AuditBuffer(broker.publish, capacity=3, max_backoff=0.05)
    await buffer.start()
    for n in range(3):
        buffer.submit(_event(n))
    assert buffer.full()
    assert not await buffer.drained(0.3)
    assert broker.tries >= 2 and broker.sent == []
    broker.up = True
    assert await buffer.drained(5)
    assert broker.sent == ["/q/0", "/q/1", "/q/2"] and not buffer.full()
    await buffer.stop()


async def test_unsent_events_survive_a_restart_in_the_spool(tmp_path: Path) -> None:
    spool = tmp_path / "spool.jsonl"
    broker = Broker()
    first = AuditBuffer(broker.publish, spool=spool, max_backoff=0.05)
    await first.start()
    first.submit(_event(1))
    first.submit(_event(2))
    await first.stop(flush_timeout=0.1)
    assert spool.exists()
    broker.up = True
    second = AuditBuffer(broker.publish, spool=spool)
    await second.start()
    assert await second.drained(5)
    assert broker.sent == ["/q/1", "/q/2"]
    assert spool.stat().st_size == 0  # nothing owed any more
    await second.stop()


@get("/queries/{name:str}")
async def run(name: FromPath[str]) -> dict[str, str]:
    return {"query": name}


@get("/queries")
async def listing() -> list[str]:
    return []


def test_a_full_buffer_refuses_calls_and_denied_named_queries_are_audited() -> None:
    broker = Broker()
    state = ServiceState(service="gw")
    app = build_app(
        service="gw",
        route_handlers=[run, listing],
        state=state,
        middleware_extra=[AuditMiddleware(state), ApiKeyMiddleware(SecretStr("k"))],
    )
    with TestClient(app) as client:
        buffer = AuditBuffer(broker.publish, capacity=2)
        state.deps = Gateway(  # the buffer is never started: nothing drains
            graph=httpx.AsyncClient(),
            gate=None,  # type: ignore[arg-type]
            rbac=None,  # type: ignore[arg-type]
            follower=None,
            audit_buffer=buffer,
        )
        assert client.get("/queries/a", headers={"X-API-Key": "k"}).status_code == 200
        assert client.get("/queries").status_code == 401  # the listing: not a query
        assert client.get("/queries/b", headers={"X-API-Key": "bad"}).status_code == 401
        assert len(buffer) == 2
        full = client.get("/queries/c", headers={"X-API-Key": "k"})
        assert full.status_code == 503 and full.headers["retry-after"] == "5"
        assert full.headers["content-type"].startswith("application/problem+json")
    events = [event.data for event in buffer.pending()]
    assert (events[0].principal, events[0].status, events[0].query) == ("admin", 200, None)
    assert events[0].key_id == "admin"  # which key called is in every record
    assert (events[1].principal, events[1].auth_method, events[1].status, events[1].query) == (
        "anonymous",
        "anonymous",
        401,
        "b",
    )
    asyncio.run(asyncio.sleep(0))
