"""Audit and SOAR figures on a real stack.

* Audit append rate: N ``audit.request`` events published to ``meshq.audit.events``; the time
  until all N ``meshq.audit.recorded`` came back (each one appended to the hash chain on
  PostgreSQL first), after a first round of ``WARM_UP`` events that is not counted. Then the
  time ``GET /audit/verify`` takes to walk the whole chain (the hashes, the HMACs, the head and
  the signed checkpoints).
* SOAR latency: a query completes at the gateway (its response arrived); the time until the
  matching rule's webhook reaches a local HTTP receiver started here.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from bench.stack import API_KEY, Stack

QUERY = "all_devices"
RULES = json.dumps([{"condition": "row_count > 0", "query": QUERY, "label": "bench"}])
TOKEN = "bench-soar-" + "t" * 20
#: the query name on the synthetic audit events: no SOAR rule matches it
APPEND_QUERY = "bench_append_only"
#: audit events appended before the measured ones
WARM_UP = 200


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


class Receiver:
    """A loopback webhook receiver that timestamps every POST as it arrives."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                now = time.perf_counter()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                payload = json.loads(body)
                if payload.get("query") != QUERY:  # only the rule under measurement
                    return
                with receiver.cond:
                    receiver.arrivals.append((now, payload))
                    receiver.cond.notify_all()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def wait(self, count: int, timeout: float = 30.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.arrivals) >= count, timeout=timeout):
                raise TimeoutError(f"{len(self.arrivals)} of {count} webhook(s) arrived")
            return self.arrivals[count - 1][0]


#: Where a ``meshq.audit.recorded`` record names the audit event it announces (pydantic's
#: compact JSON puts ``data.audit_event_id`` before the request it repeats); found without
#: decoding every announcement, so the reader takes less of the machine under measurement.
_ANNOUNCED = re.compile(rb'"audit_event_id":"([^"]+)"')


async def _append_rate(stack: Stack, events: int) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from meshq_runtime.kafka.broker import PRODUCER_BATCH_BYTES
    from network_discovery.contracts import topics
    from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent

    batch = [
        AuditRequestEvent(
            source="bench",
            subject=APPEND_QUERY,
            data=AuditRequestData(
                principal="bench",
                auth_method="api_key",
                method="POST",
                path=f"/queries/{APPEND_QUERY}",
                status=200,
                elapsed_ms=1.0,
                query=APPEND_QUERY,
                params={"i": i},
                row_count=1,
                sample_rows=[{"hostname": f"bench-{i}"}],
            ),
        )
        for i in range(events)
    ]
    wanted = {e.id.encode() for e in batch}
    # what the gateways would have sent: each event's JSON, made before the clock starts
    records = [
        (
            stack.prefix + e.topic,
            e.key(),
            e.model_dump_json().encode(),
            [("content-type", b"application/json"), ("x-meshq-type", e.type.encode())],
        )
        for e in batch
    ]
    consumer = AIOKafkaConsumer(
        stack.prefix + topics.AUDIT_RECORDED.name,
        bootstrap_servers=stack.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    # the services' producer settings (meshq_runtime.kafka.create_broker)
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap, acks="all", max_batch_size=PRODUCER_BATCH_BYTES
    )
    await producer.start()
    seen: set[bytes] = set()
    try:
        started = time.perf_counter()
        sends = [
            await producer.send(topic, key=key, value=value, headers=headers)
            for topic, key, value, headers in records
        ]
        await asyncio.gather(*sends)
        published_s = time.perf_counter() - started
        deadline = time.monotonic() + 300
        while len(seen) < events and time.monotonic() < deadline:
            got = await consumer.getmany(timeout_ms=500)
            for recorded in got.values():
                for r in recorded:
                    found = _ANNOUNCED.search(r.value)
                    if found is not None and found[1] in wanted:
                        seen.add(found[1])
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
        await consumer.stop()
    if len(seen) < events:
        raise TimeoutError(f"only {len(seen)} of {events} audit records came back")
    return {
        "events": events,
        "publish_s": round(published_s, 3),
        "all_recorded_s": round(elapsed, 3),
        "events_per_s": round(events / elapsed, 1),
    }


def _verify_time(stack: Stack, audit_url: str) -> dict[str, Any]:
    from meshq_runtime.service_auth import service_headers

    headers = service_headers(stack.env["MESHQ_SERVICE_TOKEN"], "bench")
    with httpx.Client(base_url=audit_url, headers=headers, timeout=600) as client:
        started = time.perf_counter()
        response = client.get("/audit/verify")
        elapsed = time.perf_counter() - started
    response.raise_for_status()
    result = response.json()
    if not result["ok"]:
        raise RuntimeError(f"the chain does not verify: {result}")
    return {
        "records": result["checked"],
        "verify_s": round(elapsed, 3),
        "records_per_s": round(result["checked"] / elapsed, 1),
    }


def _webhook_latency(gateway_url: str, receiver: Receiver, queries: int) -> dict[str, Any]:
    latencies: list[float] = []
    with httpx.Client(base_url=gateway_url, headers={"X-API-Key": API_KEY}, timeout=30) as client:
        # not counted: the dispatcher starts from the beginning of meshq.audit.recorded, so its
        # first webhook waits for every announcement of the append figure to go through first
        client.post(f"/queries/{QUERY}", json={}).raise_for_status()
        receiver.wait(1, timeout=600)
        for _ in range(queries):
            before = len(receiver.arrivals)
            response = client.post(f"/queries/{QUERY}", json={})
            done = time.perf_counter()
            response.raise_for_status()
            arrived = receiver.wait(before + 1)
            latencies.append((arrived - done) * 1000)
    return {
        "query": QUERY,
        "rule": json.loads(RULES)[0],
        "queries": queries,
        "p50_ms": _pct(latencies, 0.5),
        "p95_ms": _pct(latencies, 0.95),
        "max_ms": round(max(latencies), 3),
    }


def run(events: int = 10_000, queries: int = 50) -> dict[str, Any]:
    with Stack() as stack, Receiver() as receiver:
        services = stack.core()
        _say(f"stack up ({stack.kinds})")
        # not counted: the first events open the audit service's connections and prepare its
        # statements; the figure is the chain's rate once it runs
        asyncio.run(_append_rate(stack, WARM_UP))
        append = asyncio.run(_append_rate(stack, events))
        _say(f"audit append: {append}")
        verify = _verify_time(stack, services["audit"].url)
        _say(f"audit verify: {verify}")
        stack.load_demo()
        soar = stack.spawn(
            "meshq_soar_dispatcher",
            SOAR_WEBHOOK_URL=receiver.url,
            SOAR_WEBHOOK_TOKEN=TOKEN,
            SOAR_RULES=RULES,
        ).wait_healthy()
        del soar
        latency = _webhook_latency(services["gateway"].url, receiver, queries)
        _say(f"SOAR webhook latency: {latency}")
        kinds = dict(stack.kinds)
    return {"infra": kinds, "append": append, "verify": verify, "soar_webhook": latency}


def markdown(r: dict[str, Any]) -> list[str]:
    a, s = r["append"], r["soar_webhook"]
    lines = [
        "## Audit chain and SOAR",
        "",
        f"Infrastructure: {', '.join(r['infra'].values())}.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| audit events appended to the chain (PostgreSQL) | {a['events_per_s']} events/s "
        f"({a['events']} events, all recorded in {a['all_recorded_s']} s) |",
    ]
    v = r.get("verify")  # results kept from before the verify figure have none
    if v:
        lines.append(
            f"| `GET /audit/verify` of the whole chain | {v['verify_s']} s "
            f"({v['records']} records, {v['records_per_s']} records/s) |"
        )
    return [
        *lines,
        f"| query done at gateway → SOAR webhook received, p50 | {s['p50_ms']} ms |",
        f"| query done at gateway → SOAR webhook received, p95 | {s['p95_ms']} ms "
        f"({s['queries']} queries, `{s['query']}`, rule `{s['rule']['condition']}`) |",
        "",
    ]
