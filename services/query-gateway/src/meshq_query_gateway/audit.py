"""Every authenticated API call becomes an ``audit.request`` event on ``meshq.audit.events``."""

from __future__ import annotations

import time
from typing import Any

import structlog
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from meshq_runtime.kafka import EventBus
from network_discovery.contracts.envelope import new_event_id
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent

from meshq_query_gateway.auth import is_public, principal_of

__all__ = ["AuditMiddleware", "redact"]

log = structlog.get_logger(__name__)

#: Parameter names whose values never reach the audit log.
_SECRET_WORDS = ("password", "secret", "token", "key", "credential", "community_string")


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
        self._state = state  # ServiceState; the bus appears once the lifespan has run

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await next_app(scope, receive, send)
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
            await self._publish(scope, status, (time.monotonic() - started) * 1000)

    async def _publish(self, scope: Scope, status: int, elapsed_ms: float) -> None:
        principal = principal_of(scope)
        if principal is None:  # rejected before authentication: nothing ran
            return
        bus: EventBus | None = self._state.extras.get("bus")
        if bus is None:
            return
        extras = scope.get("state", {})
        client = scope.get("client")
        event = AuditRequestEvent(
            source="query-gateway",
            subject=principal.name,
            correlation_id=extras.get("correlation_id") or new_event_id(),
            data=AuditRequestData(
                principal=principal.name,
                auth_method=principal.auth_method,  # type: ignore[arg-type]
                method=scope.get("method", "GET"),
                path=scope["path"],
                status=status,
                elapsed_ms=round(elapsed_ms, 3),
                query=extras.get("query_name"),
                params=redact(extras.get("query_params", {})),
                row_count=extras.get("row_count"),
                sample_rows=extras.get("sample_rows", []),
                client=client[0] if client else None,
            ),
        )
        try:
            await bus.publish(event)
        except Exception as exc:
            log.error("audit.publish_failed", error=f"{type(exc).__name__}: {exc}"[:300])
