"""``GET /alerts/stream``: the alerts service's changes as server-sent events.

Each event is one change of an alert (``event: firing|acknowledged|resolved``, ``id``: its
cursor, ``data``: the change as JSON, with the alert). A client that reconnects sends the last
id it saw (``Last-Event-ID``, or ``?cursor=``) and misses nothing; without one the stream starts
from the oldest change kept. A comment goes out when nothing happened for a while, so proxies
keep the connection; the server ends it after ``MAX_STREAM_S`` (the client reconnects).

The same guard as the ``meshq_alerts_stream`` query: the ``alert_rules`` flag and RBAC's
``execute`` on ``meshq_alerts_stream``; the call is audited once, when it opens.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import structlog
from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from meshq_runtime.http import ProblemError

from meshq_query_gateway.audit import audit_note
from meshq_query_gateway.context import Deps, principal, requires
from meshq_query_gateway.openapi import problems

__all__ = ["ROUTES"]

log = structlog.get_logger(__name__)

STREAM_QUERY = "meshq_alerts_stream"
FEATURE = "alert_rules"
#: Seconds one call to the alerts service waits for a change.
WAIT_S = 20.0
#: The longest a stream stays open before the server ends it.
MAX_STREAM_S = 3600.0
_CURSOR = re.compile(r"^[0-9]{1,18}$")


@get(
    "/alerts/stream",
    tags=["alerts"],
    media_type="text/event-stream",
    opt=problems(400, 403, 409, 502, 503),
    guards=[requires(STREAM_QUERY, feature=FEATURE)],
)
async def alerts_stream(
    request: Request[Any, Any, Any],
    deps: Deps,
    cursor: Annotated[
        str | None,
        QueryParameter(max_length=18, description="Start after this change (its event id)."),
    ] = None,
) -> ServerSentEvent:
    """Alert changes as server-sent events, oldest first, then as they happen."""
    start = cursor or request.headers.get("last-event-id") or None
    if start is not None and not _CURSOR.match(start.strip()):
        raise ProblemError(
            400,
            "Invalid cursor",
            "cursor (or Last-Event-ID) is the id of an event this stream sent",
            errors=[{"field": "cursor", "message": "expected digits"}],
        )
    hop = deps.hop_for(STREAM_QUERY)
    if STREAM_QUERY not in {q.get("name") for q in await deps.catalogue()} or hop is deps.hop:
        raise ProblemError(
            409,
            "No alerts service",
            "this gateway has no alerts service configured: set MESHQ_ALERTS_URL to its URL",
            type_="https://meshoptixiq.com/problems/not-configured",
            field="MESHQ_ALERTS_URL",
        )
    assert hop is not None
    note = audit_note(request)
    note.params = {"cursor": start}
    who = principal(request).name

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        after = start.strip() if start else None
        opened = time.monotonic()
        while time.monotonic() - opened < MAX_STREAM_S:
            params: dict[str, Any] = {"wait_s": WAIT_S, "limit": 100}
            if after is not None:
                params["cursor"] = after
            try:
                answer = await hop.run(STREAM_QUERY, params, offset=0, limit=100, on_behalf=who)
            except ProblemError as exc:  # the service went away: end the stream, say why
                log.warning("alerts.stream_ended", status=exc.status, title=exc.title)
                yield ServerSentEventMessage(event="error", data=json.dumps({"title": exc.title}))
                return
            rows = answer.body.get("rows") or []
            if not rows:
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            for row in rows:
                after = str(row.get("cursor"))
                yield ServerSentEventMessage(
                    data=json.dumps(row, separators=(",", ":"), ensure_ascii=False),
                    event=str(row.get("change")),
                    id=after,
                )

    return ServerSentEvent(events(), headers={"Cache-Control": "no-cache"})


ROUTES = [alerts_stream]
