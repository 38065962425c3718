"""The Alerts queries, served like the graph's catalogue (``GET /internal/queries``,
``POST /internal/queries/{name}``): the gateway lists them with graph-engine's, routes them
here, and puts its license gate (``alert_rules``), RBAC and audit in front; MCP tools come from
the listing like every other query.

- ``meshq_alerts_list``: alerts by state (open by default), severity, device, rule, since;
- ``meshq_alerts_acknowledge``: a firing alert acknowledged by the caller (the gateway says
  who); answers ``{"status": "acknowledged", "alert_id": ...}``;
- ``meshq_alerts_rules_get``: the rules in force;
- ``meshq_alerts_stream``: the changes after a cursor, waiting up to ``wait_s`` for one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from meshq_runtime.http import ProblemError
from meshq_runtime.served_queries import answer, called
from pydantic import BaseModel, ConfigDict, Field

from meshq_alerts.evaluator import Evaluator
from meshq_alerts.rules import SEVERITIES
from meshq_alerts.store import AlertStore, parse_alert_id

__all__ = ["FEATURE", "QUERIES", "AlertQuery", "describe", "run"]

FEATURE = "alert_rules"
CATEGORY = "Alerts"
MAX_LIMIT = 10_000
#: The longest a stream call waits for a change.
MAX_WAIT_S = 30.0

State = Literal["firing", "acknowledged", "resolved", "open", "all"]
Severity = Literal[SEVERITIES]  # type: ignore[valid-type]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListParams(_Params):
    state: State = Field(
        "open", description="firing, acknowledged, resolved, open (firing or acknowledged), all."
    )
    severity: Severity | None = Field(None, description="Only this severity.")
    device: str | None = Field(
        None, min_length=1, max_length=255, description="Only alerts about this device."
    )
    rule: str | None = Field(None, min_length=1, max_length=128, description="Only this rule.")
    since: datetime | None = Field(
        None, description="Only alerts changed at or after this time (RFC 3339)."
    )


class AckParams(_Params):
    alert_id: str = Field(
        min_length=1, max_length=32, description="The alert, e.g. alert-42.", examples=["alert-42"]
    )


class RulesParams(_Params):
    pass


class StreamParams(_Params):
    cursor: str | None = Field(
        None,
        max_length=20,
        pattern=r"^[0-9]+$",
        description="The cursor of the last change seen; leave out to start from the oldest.",
    )
    wait_s: float = Field(
        0.0,
        ge=0.0,
        le=MAX_WAIT_S,
        description=f"Seconds to wait for a change when there is none (at most {MAX_WAIT_S:g}).",
    )
    limit: int = Field(100, ge=1, le=1000, description="Most changes in one answer.")


class AlertRow(BaseModel):
    """One alert."""

    alert_id: str
    rule: str
    query: str = Field(description="The catalogue query the rule watches.")
    state: Literal["firing", "acknowledged", "resolved"]
    severity: str
    summary: str
    description: str | None
    labels: dict[str, str]
    key: dict[str, Any]
    devices: list[str]
    row: dict[str, Any] = Field(description="The query row the alert was raised for.")
    fingerprint: str
    starts_at: str
    last_matched_at: str
    resolved_at: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None
    updated_at: str


class AckRow(BaseModel):
    status: Literal["acknowledged"]
    alert_id: str


class RuleRow(BaseModel):
    name: str
    query: str
    params: dict[str, Any]
    key: list[str]
    condition: str | None
    when: Literal["present", "absent"]
    for_s: float
    resolve_after_s: float
    severity: str
    labels: dict[str, str]
    summary: str | None
    description: str | None


class ChangeRow(BaseModel):
    cursor: str = Field(description="Pass as cursor to get the changes after this one.")
    change: Literal["firing", "acknowledged", "resolved"]
    at: str
    actor: str | None
    alert: AlertRow


@dataclass(frozen=True)
class Context:
    store: AlertStore
    evaluator: Evaluator
    actor: str  # who asks (the gateway's caller), for writes


Runner = Callable[[Context, Any, int, int], Awaitable[tuple[list[dict[str, Any]], int]]]


@dataclass(frozen=True)
class AlertQuery:
    name: str
    summary: str
    params: type[BaseModel]
    row: type[BaseModel]
    run: Runner
    writes: bool = False
    #: The answer is one object (the first row), not a list.
    single: bool = False


_STATES = {
    "open": ("firing", "acknowledged"),
    "all": ("firing", "acknowledged", "resolved"),
}


async def _list(ctx: Context, p: ListParams, offset: int, limit: int) -> Any:
    states = _STATES.get(p.state, (p.state,))
    return await ctx.store.find(
        states=states,
        severity=p.severity,
        device=p.device,
        rule=p.rule,
        since=p.since,
        limit=limit,
        offset=offset,
    )


async def _ack(ctx: Context, p: AckParams, offset: int, limit: int) -> Any:
    number = parse_alert_id(p.alert_id)
    if number is None:
        raise ProblemError(
            422,
            "Invalid alert id",
            f"{p.alert_id[:32]!r} is not an alert id (alert-<number>)",
            errors=[{"field": "alert_id", "message": "expected alert-<number>"}],
        )
    result = await ctx.store.acknowledge(number, ctx.actor, datetime.now(UTC))
    if result.status == "not_found":
        raise ProblemError(404, "Unknown alert", f"no alert {p.alert_id}", field="alert_id")
    if result.status == "resolved":
        raise ProblemError(
            409,
            "Alert resolved",
            f"{p.alert_id} resolved at {result.alert and result.alert['resolved_at']}: there is "
            "nothing to acknowledge",
            field="alert_id",
        )
    return [{"status": "acknowledged", "alert_id": f"alert-{number}"}], 1


async def _rules(ctx: Context, p: RulesParams, offset: int, limit: int) -> Any:
    rows = [r.describe() for r in ctx.evaluator.rules]
    return rows[offset : offset + limit], len(rows)


async def _stream(ctx: Context, p: StreamParams, offset: int, limit: int) -> Any:
    after = int(p.cursor) if p.cursor is not None else 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + p.wait_s
    while True:
        rows = await ctx.store.changes(after, min(p.limit, limit))
        if rows or loop.time() >= deadline:
            break
        await asyncio.sleep(min(0.5, max(0.0, deadline - loop.time())))
    return rows, len(rows)


QUERIES: dict[str, AlertQuery] = {
    q.name: q
    for q in (
        AlertQuery(
            "meshq_alerts_list",
            "Alerts: open ones by default (firing or acknowledged), newest first, with the "
            "rule, severity, the devices and the row that raised them.",
            ListParams,
            AlertRow,
            _list,
        ),
        AlertQuery(
            "meshq_alerts_acknowledge",
            "Acknowledge a firing alert (recorded with who and when); it stays open until "
            "what raised it is gone.",
            AckParams,
            AckRow,
            _ack,
            writes=True,
            single=True,
        ),
        AlertQuery(
            "meshq_alerts_rules_get",
            "The alert rules in force: the query each watches, its key, condition, "
            "durations and severity.",
            RulesParams,
            RuleRow,
            _rules,
        ),
        AlertQuery(
            "meshq_alerts_stream",
            "Alert changes (fired, acknowledged, resolved) after a cursor, oldest first; "
            "waits up to wait_s for one. Start without a cursor, then pass the last one.",
            StreamParams,
            ChangeRow,
            _stream,
        ),
    )
}


def describe(query: AlertQuery) -> dict[str, Any]:
    """The listing entry, in the shape of graph-engine's catalogue."""
    return {
        "name": query.name,
        "category": CATEGORY,
        "summary": query.summary,
        "feature": FEATURE,
        "community": False,
        "writes": query.writes,
        # the answer depends on the alerts, not on the graph's revision
        "cacheable": False,
        **({"answer": "object"} if query.single else {}),
        "parameters": query.params.model_json_schema(),
        "row_schema": query.row.model_json_schema(),
    }


async def run(
    ctx: Context, name: str, raw: dict[str, Any], *, limit: int | None, offset: int
) -> dict[str, Any]:
    query, params = called(QUERIES, name, raw)
    size = min(limit or MAX_LIMIT, MAX_LIMIT)
    return await answer(name, query.run(ctx, params, offset, size), offset=offset, limit=size)
