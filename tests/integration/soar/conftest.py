"""A real HTTP receiver for webhooks, scripted per test, and helpers to feed the dispatcher."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from network_discovery.contracts import topics
from network_discovery.contracts.events import (
    AuditRecorded,
    AuditRecordedData,
    AuditRequestData,
)
from support.pgdb import fresh_database


@pytest.fixture
async def service_env(service_env: dict[str, str], stack) -> AsyncIterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The shared environment on a database of the test's own: the dispatcher keeps its
    outcomes (one webhook per event and rule) and dead letters there, the audit service its
    chain."""
    async with fresh_database(stack.postgres_url, "meshq_soar") as url:
        yield {**service_env, "MESHQ_POSTGRES_URL": url}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        """The next answers, in order; 200 once the script is used up."""
        with self.lock:
            self.script.extend(s if isinstance(s, tuple) else (s, {}) for s in statuses)

    def wait(self, count: int, timeout: float = 60.0) -> list[Received]:
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            if not ok:
                raise TimeoutError(f"{len(self.received)} of {count} webhook(s) arrived")
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = state["r"]
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with rec.arrived:
                rec.received.append(Received(dict(self.headers.items()), body))
                status, headers = rec.script.pop(0) if rec.script else (200, {})
                rec.arrived.notify_all()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["r"]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def recorded(
    query: str | None = "deny_rules_summary",
    *,
    rows: int | None = 3,
    status: int = 200,
    elapsed_ms: float = 12.0,
    seq: int = 1,
) -> AuditRecorded:
    sample = [{"hostname": f"fw-{i}", "action": "deny"} for i in range(min(rows or 0, 10))]
    request = AuditRequestData(
        principal="tester",
        auth_method="api_key",
        method="POST",
        path=f"/queries/{query}/execute" if query else "/health",
        status=status,
        elapsed_ms=elapsed_ms,
        query=query,
        row_count=rows,
        sample_rows=sample,
    )
    return AuditRecorded(
        source="test",
        subject="tester",
        data=AuditRecordedData(
            seq=seq, entry_hash="0" * 64, audit_event_id=f"audit-{seq}-{query}", request=request
        ),
    )


async def publish_recorded(env: dict[str, str], *events: AuditRecorded) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=env["MESHQ_KAFKA_BOOTSTRAP"], acks="all")
    await producer.start()
    try:
        topic = env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.AUDIT_RECORDED.name
        for event in events:
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"tester")
    finally:
        await producer.stop()


@pytest.fixture
def make_recorded() -> Any:
    return recorded


@pytest.fixture
def publish(service_env: dict[str, str]) -> Any:
    async def send(*events: AuditRecorded) -> None:
        await publish_recorded(service_env, *events)

    return send
