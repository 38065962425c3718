"""Every API call that reaches a query becomes an ``audit.request`` event on
``meshq.audit.events``: allowed or denied (401 on a named query, 403, 429), success or error.

Events go through :class:`AuditBuffer`, so none is dropped while the broker is away; when the
buffer is full, new calls are refused with 503 instead of being served unaudited.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

import structlog
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from meshq_runtime.http import problem_response, send_response
from network_discovery.contracts.envelope import new_event_id
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent

from meshq_query_gateway.audit_buffer import AuditBuffer
from meshq_query_gateway.auth import Principal, is_public, principal_of

__all__ = ["AuditMiddleware", "bounded", "bounded_part", "redact"]

log = structlog.get_logger(__name__)

#: Parameter names whose values never reach the audit log.
_SECRET_WORDS = ("password", "secret", "token", "key", "credential", "community_string")
#: A call that names a query: audited even when its credential is refused.
_NAMED_QUERY = re.compile(r"^/queries/([^/]{1,200})$")
ANONYMOUS = Principal("anonymous", "anonymous")


#: What one audit event may carry of a call's parameters and rows: a value longer than this
#: is cut (its size and hash recorded); more than this many keys or items are cut; the whole
#: of it larger than this is replaced by its size and hash. An event stays far below the
#: broker's message limit whatever a caller sends.
MAX_VALUE_CHARS = 256
MAX_ITEMS = 50
MAX_DEPTH = 4
MAX_PART_BYTES = 16_384


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def bounded(value: Any, depth: int = 0) -> Any:
    """``value`` cut to what an audit event carries: long strings keep their start, their
    length and their SHA-256; deep or long structures are cut with a note of what was left."""
    if isinstance(value, str):
        if len(value) <= MAX_VALUE_CHARS:
            return value
        return f"{value[:64]}... [{len(value)} chars, sha256 {_digest(value)}]"
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth >= MAX_DEPTH:
        return f"[nested deeper than {MAX_DEPTH}]"
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k)[:MAX_VALUE_CHARS]: bounded(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["_cut"] = f"{len(items) - MAX_ITEMS} more keys"
        return out
    if isinstance(value, list | tuple):
        cut = [bounded(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            cut.append(f"[{len(value) - MAX_ITEMS} more items]")
        return cut
    return bounded(str(value), depth)


def bounded_part(value: dict[str, Any]) -> dict[str, Any]:
    """A whole part (parameters, one sample row) within :data:`MAX_PART_BYTES`, else its
    size and hash in its place."""
    cut = bounded(value)
    text = json.dumps(cut, default=str, ensure_ascii=False)
    if len(text.encode()) <= MAX_PART_BYTES:
        return cut if isinstance(cut, dict) else {}
    raw = json.dumps(value, default=str, ensure_ascii=False)
    return {"_omitted": {"bytes": len(raw.encode()), "sha256": _digest(raw)}}


def redact(params: Any) -> dict[str, Any]:
    """Parameters with the value of every secret-looking name replaced by ``[redacted]``."""
    if not isinstance(params, dict):
        return {}
    out: dict[str, Any] = {}
    for name, value in params.items():
        lowered = str(name).lower()
        if any(word in lowered for word in _SECRET_WORDS):
            out[str(name)] = "[redacted]"
        elif isinstance(value, dict):
            out[str(name)] = redact(value)
        else:
            out[str(name)] = value
    return out


class AuditMiddleware(ASGIMiddleware):
    def __init__(self, state: Any) -> None:
        self._state = state  # ServiceState; the buffer appears once the lifespan has run

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await next_app(scope, receive, send)
            return
        buffer: AuditBuffer | None = self._state.extras.get("audit_buffer")
        if buffer is not None and buffer.full():
            log.error("audit.buffer_full", queued=len(buffer), path=scope["path"])
            response = problem_response(
                503,
                "Audit unavailable",
                "the audit log cannot take more events until the broker is back; retry shortly",
                type_="https://meshoptixiq.com/problems/audit-unavailable",
            )
            response.headers["Retry-After"] = "5"
            await send_response(response, scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def capture(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, capture)
        finally:
            event = self._event(scope, status, (time.monotonic() - started) * 1000)
            if event is not None and buffer is not None:
                buffer.submit(event)

    def _event(self, scope: Scope, status: int, elapsed_ms: float) -> AuditRequestEvent | None:
        principal = principal_of(scope)
        extras = scope.get("state", {})
        query = extras.get("query_name")
        if principal is None:
            named = _NAMED_QUERY.match(scope["path"])
            if status != 401 or named is None:
                return None  # refused before it reached a query: nothing ran
            principal, query = ANONYMOUS, named.group(1)
        client = scope.get("client")
        return AuditRequestEvent(
            source="query-gateway",
            subject=principal.name,
            correlation_id=extras.get("correlation_id") or new_event_id(),
            data=AuditRequestData(
                principal=principal.name,
                auth_method=principal.auth_method,
                key_id=principal.key_id,
                method=scope.get("method", "GET"),
                path=scope["path"],
                status=status,
                elapsed_ms=round(elapsed_ms, 3),
                query=query,
                params=bounded_part(redact(extras.get("query_params", {}))),
                row_count=extras.get("row_count"),
                sample_rows=[bounded_part(r) for r in extras.get("sample_rows", [])[:10]],
                client=client[0] if client else None,
            ),
        )
