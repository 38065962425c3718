"""Every API call that reaches a query becomes an ``audit.request`` event on
``meshq.audit.events``: allowed or denied (401 on a named query, 403, 429), success or error.

Events go through :class:`AuditBuffer`, so none is dropped while the broker is away; each stays
in the buffer's journal on disk until the audit log's ``meshq.audit.recorded`` confirms it
(:func:`open_audit_buffer`). When the buffer is full, new calls are refused with 503 instead of
being served unaudited.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from litestar import Request
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from meshq_runtime.audit import MAX_PART_BYTES, bounded, bounded_part, redact
from meshq_runtime.audit_buffer import AuditBuffer
from meshq_runtime.audit_confirm import open_audit_buffer
from meshq_runtime.http import problem_response, send_response
from network_discovery.contracts.envelope import new_event_id
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent

from meshq_query_gateway.auth import Principal, is_public, principal_of

# the bounding helpers live in meshq_runtime.audit (the graph engine audits with them too)
__all__ = [
    "AUDIT_FEATURE",
    "MAX_PART_BYTES",
    "AuditMiddleware",
    "AuditNote",
    "audit_note",
    "bounded",
    "bounded_part",
    "note_of",
    "open_audit_buffer",
    "redact",
]

#: The plan flag of the audit log: without it the audit service records nothing, so the
#: gateway expects no receipts and lets go of an event once the broker has it.
AUDIT_FEATURE = "audit_logging"

log = structlog.get_logger(__name__)

#: A call that names a query: audited even when its credential is refused.
_NAMED_QUERY = re.compile(r"^/queries/([^/]{1,200})$")
ANONYMOUS = Principal("anonymous", "anonymous")


@dataclass
class AuditNote:
    """What a handler tells its call's audit event: the query (or resource) it ran, the
    parameters, how many rows it answered and a sample of them, and whether the answer came
    from the answer cache. One per request
    (:func:`audit_note`); the middleware reads it once the answer is sent."""

    query: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    row_count: int | None = None
    sample_rows: list[Any] = field(default_factory=list)
    #: The answer came from the answer cache (None: no query answer was produced).
    cached: bool | None = None


_NOTE = "audit_note"


def audit_note(request: Request[Any, Any, Any]) -> AuditNote:
    """This request's :class:`AuditNote`, created on first use."""
    return note_of(request.scope.setdefault("state", {}))


def note_of(scope_state: dict[str, Any]) -> AuditNote:
    """The :class:`AuditNote` kept in a request's scope state, created on first use."""
    note = scope_state.get(_NOTE)
    if not isinstance(note, AuditNote):
        note = scope_state[_NOTE] = AuditNote()
    return note


class AuditMiddleware(ASGIMiddleware):
    def __init__(self, state: Any) -> None:
        self._state = state  # ServiceState; the buffer appears once the lifespan has run

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await next_app(scope, receive, send)
            return
        deps = self._state.deps  # None while the lifespan starts
        buffer: AuditBuffer | None = deps.audit_buffer if deps is not None else None
        if buffer is not None and buffer.full():
            log.error(
                "audit.buffer_full",
                queued=len(buffer),
                unconfirmed=buffer.unconfirmed,
                path=scope["path"],
            )
            response = problem_response(
                503,
                "Audit unavailable",
                "the audit log cannot take more events until the broker and the audit service "
                "catch up; retry shortly",
                type_="https://meshoptixiq.com/problems/audit-unavailable",
            )
            response.headers["Retry-After"] = "5"
            await send_response(response, scope, receive, send)
            return
        started = time.monotonic()
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            event = self._event(scope, status, (time.monotonic() - started) * 1000)
            if event is not None and buffer is not None:
                buffer.submit(event)

        async def capture(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # in the journal before the caller hears the answer: a gateway killed the
                # moment after still owes the event, and sends it after its restart
                record()
            await send(message)

        try:
            await next_app(scope, receive, capture)
        finally:
            record()  # no answer was started (the handler failed): recorded as it ended

    def _event(self, scope: Scope, status: int, elapsed_ms: float) -> AuditRequestEvent | None:
        principal = principal_of(scope)
        scope_state = scope.get("state", {})
        note: AuditNote = scope_state.get(_NOTE) or AuditNote()
        query = note.query
        if principal is None:
            named = _NAMED_QUERY.match(scope["path"])
            if status != 401 or named is None:
                return None  # refused before it reached a query: nothing ran
            principal, query = ANONYMOUS, named.group(1)
        client = scope.get("client")
        return AuditRequestEvent(
            source="query-gateway",
            subject=principal.name,
            correlation_id=scope_state.get("correlation_id") or new_event_id(),
            data=AuditRequestData(
                principal=principal.name,
                auth_method=principal.auth_method,
                key_id=principal.key_id,
                method=scope.get("method", "GET"),
                path=scope["path"],
                status=status,
                elapsed_ms=round(elapsed_ms, 3),
                query=query,
                params=bounded_part(redact(dict(note.params))),
                row_count=note.row_count,
                sample_rows=[bounded_part(r) for r in note.sample_rows[:10]],
                client=client[0] if client else None,
                cached=note.cached,
            ),
        )
