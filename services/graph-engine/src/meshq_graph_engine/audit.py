"""Internal writes are audited: every call of a query that writes (``update_device_metadata``)
becomes an ``audit.request`` event naming the calling service, success or not, the way the
gateway audits API calls (the same buffer, the same bounds on parameters and rows).

The writer refuses a write with 503 rather than apply it unaudited when the buffer is full
(the broker away for long).
"""

from __future__ import annotations

from typing import Any

from litestar.types import Scope
from meshq_runtime.audit import bounded_part, redact
from meshq_runtime.audit_buffer import AuditBuffer
from meshq_runtime.http import ProblemError
from meshq_runtime.service_auth import caller_of
from network_discovery.contracts.envelope import new_event_id
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent

__all__ = ["SOURCE", "require_room", "write_event"]

SOURCE = "graph-engine"
#: Rows of a write's answer kept in its audit event.
SAMPLE_ROWS = 10


def require_room(buffer: AuditBuffer | None) -> AuditBuffer:
    """The buffer, or 503 when a write could not be audited now."""
    if buffer is None or buffer.full():
        raise ProblemError(
            503,
            "Audit unavailable",
            "internal writes are audited, and the audit log cannot take more events until the "
            "broker is back; retry shortly",
            type_="https://meshoptixiq.com/problems/audit-unavailable",
        )
    return buffer


def write_event(
    scope: Scope,
    *,
    query: str,
    params: Any,
    status: int,
    elapsed_ms: float,
    rows: list[dict[str, Any]] | None,
) -> AuditRequestEvent:
    """The audit event of one internal write, as the calling service made it."""
    caller = caller_of(scope)
    state = scope.get("state", {})
    client = scope.get("client")
    return AuditRequestEvent(
        source=SOURCE,
        subject=caller,
        correlation_id=state.get("correlation_id") or new_event_id(),
        data=AuditRequestData(
            principal=caller,
            auth_method="service",
            method=scope.get("method", "POST"),
            path=scope["path"][:2000],
            status=status,
            elapsed_ms=round(max(elapsed_ms, 0.0), 3),
            query=query,
            params=bounded_part(redact(params)),
            row_count=len(rows) if rows is not None else None,
            sample_rows=[bounded_part(r) for r in (rows or [])[:SAMPLE_ROWS]],
            client=client[0] if client else None,
        ),
    )
