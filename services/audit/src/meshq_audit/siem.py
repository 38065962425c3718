"""SIEM forwarding: every audit record, in order, to RFC 5424 syslog over TCP (TLS optional)
and/or JSON over HTTPS.

The audit log itself is the queue: each sink keeps the last ``seq`` it delivered in
``audit_siem_cursor`` and moves it only after the SIEM took the record. A SIEM that is down
delays forwarding and grows the backlog (``meshq_audit_siem_backlog``); nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg
import httpx
import structlog

__all__ = ["SIEM_MIGRATIONS", "HttpSink", "SiemForwarder", "Sink", "SyslogSink", "rfc5424"]

log = structlog.get_logger(__name__)

SIEM_MIGRATIONS = [
    "CREATE TABLE IF NOT EXISTS audit_siem_cursor ("
    " sink text PRIMARY KEY, seq bigint NOT NULL DEFAULT 0,"
    " updated_at timestamptz NOT NULL DEFAULT now())",
]
SD_ID = "meshq@32473"  # enterprise number 32473 is reserved for documentation (RFC 5612)


def _sd_value(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def rfc5424(record: dict[str, Any], *, hostname: str, app: str = "meshq-audit") -> bytes:
    """One record as an RFC 5424 message (facility security/auth 10, severity notice 5)."""
    data = record["event"].get("data", {})
    when = record["event_time"]
    stamp = when.isoformat() if isinstance(when, datetime) else str(when)
    params = {
        "seq": record["seq"],
        "eventId": record["event_id"],
        "principal": data.get("principal"),
        "method": data.get("method"),
        "path": data.get("path"),
        "status": data.get("status"),
        "query": data.get("query"),
        "rowCount": data.get("row_count"),
        "entryHash": record["entry_hash"],
    }
    sd = " ".join(f'{k}="{_sd_value(v)}"' for k, v in params.items() if v is not None)
    msg = json.dumps(record["event"], sort_keys=True, separators=(",", ":"))
    pri = 10 * 8 + 5
    header = f"<{pri}>1 {stamp} {hostname or '-'} {app} - audit"
    return f"{header} [{SD_ID} {sd}] {msg}".encode()


class Sink(Protocol):
    name: str

    async def send(self, records: Sequence[dict[str, Any]]) -> None: ...

    async def close(self) -> None: ...


class SyslogSink:
    """RFC 5424 over TCP with octet-counting framing (RFC 6587), TLS when configured."""

    name = "syslog"

    def __init__(self, host: str, port: int, *, tls: ssl.SSLContext | None, hostname: str):
        self._host, self._port, self._tls, self._hostname = host, port, tls, hostname
        self._writer: asyncio.StreamWriter | None = None

    async def send(self, records: Sequence[dict[str, Any]]) -> None:
        writer = self._writer
        if writer is None:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port, ssl=self._tls), timeout=10
            )
            self._writer = writer
        assert writer is not None
        try:
            for record in records:
                frame = rfc5424(record, hostname=self._hostname)
                writer.write(str(len(frame)).encode() + b" " + frame)
            await asyncio.wait_for(writer.drain(), timeout=10)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class HttpSink:
    """A JSON array of records per POST; any non-2xx answer is a failure to retry."""

    name = "http"

    def __init__(self, http: httpx.AsyncClient, url: str, token: str | None) -> None:
        self._http, self._url = http, url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def send(self, records: Sequence[dict[str, Any]]) -> None:
        body = json.dumps([_jsonable(r) for r in records], sort_keys=True, default=str)
        response = await self._http.post(
            self._url,
            content=body,
            headers={**self._headers, "Content-Type": "application/json"},
        )
        if not 200 <= response.status_code < 300:
            raise ConnectionError(f"SIEM answered HTTP {response.status_code}")

    async def close(self) -> None:
        return None


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record.items()}


class SiemForwarder:
    def __init__(
        self,
        pool: asyncpg.Pool,
        sinks: list[Sink],
        *,
        batch: int = 200,
        poll_s: float = 1.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._pool, self._sinks, self._batch = pool, sinks, batch
        self._poll_s, self._max_backoff_s = poll_s, max_backoff_s
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def sinks(self) -> list[str]:
        return [s.name for s in self._sinks]

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        for sink in self._sinks:
            self._tasks.append(asyncio.create_task(self._run(sink), name=f"siem-{sink.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sink in self._sinks:
            await sink.close()

    async def publish_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Send a signed checkpoint of the chain head to every sink, once (the checkpoint file
        keeps it if a sink is down; the next checkpoint supersedes it)."""
        record = {
            "seq": checkpoint["seq"],
            "event_id": f"checkpoint-{checkpoint['seq']}",
            "event_time": checkpoint["at"],
            "entry_hash": checkpoint["entry_hash"],
            "event": {"type": "audit.checkpoint", "data": checkpoint},
        }
        for sink in self._sinks:
            try:
                await sink.send([record])
            except Exception as exc:  # a sink down must not stop the checkpoint
                log.warning("audit.siem_checkpoint_failed", sink=sink.name, error=str(exc)[:200])

    async def backlog(self) -> dict[str, int]:
        head = await self._pool.fetchval("SELECT seq FROM audit_chain_head WHERE id = 1") or 0
        rows = await self._pool.fetch(
            "SELECT sink, seq FROM audit_siem_cursor WHERE sink = ANY($1::text[])", self.sinks
        )
        done = {r["sink"]: r["seq"] for r in rows}
        return {name: max(0, int(head) - int(done.get(name, 0))) for name in self.sinks}

    async def _run(self, sink: Sink) -> None:
        await self._pool.execute(
            "INSERT INTO audit_siem_cursor (sink) VALUES ($1) ON CONFLICT DO NOTHING", sink.name
        )
        failures = 0
        while True:
            try:
                sent = await self._forward_batch(sink)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(self._max_backoff_s, 0.5 * 2 ** min(failures, 10))
                log.warning(
                    "siem.unavailable",
                    sink=sink.name,
                    error=f"{type(exc).__name__}: {exc}"[:200],
                    retry_in_s=delay,
                )
                await self._sleep(delay)
                continue
            if sent == 0:
                await self._sleep(self._poll_s)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _forward_batch(self, sink: Sink) -> int:
        cursor = await self._pool.fetchval(
            "SELECT seq FROM audit_siem_cursor WHERE sink = $1", sink.name
        )
        rows = await self._pool.fetch(
            "SELECT seq, event_id, event_time, recorded_at, correlation_id, source, event_type,"
            " body::text AS body, prev_hash, entry_hash, hmac FROM audit_log"
            " WHERE seq > $1 ORDER BY seq LIMIT $2",
            cursor,
            self._batch,
        )
        if not rows:
            return 0
        records = []
        for row in rows:
            record = dict(row)
            record["event"] = json.loads(record.pop("body"))
            records.append(record)
        await sink.send(records)
        await self._pool.execute(
            "UPDATE audit_siem_cursor SET seq = $2, updated_at = now() WHERE sink = $1",
            sink.name,
            records[-1]["seq"],
        )
        log.info("siem.forwarded", sink=sink.name, count=len(records), last_seq=records[-1]["seq"])
        return len(records)
