"""Evaluating the rules: ask graph-engine each rule's query, move the alerts, push them out.

The answers come from graph-engine's internal query API (the same catalogue the public API
serves, over the authenticated internal hop), page by page up to ``max_rows`` per rule. A rule
whose query fails (graph-engine unreachable, the query unknown or refused) is skipped for this
round: its alerts stay as they were, since no answer says nothing about the network.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import structlog

from meshq_alerts.alertmanager import AlertmanagerPush
from meshq_alerts.rules import AlertRule
from meshq_alerts.store import AlertStore, Evaluation, Transition

__all__ = ["Answer", "Evaluator", "GraphQueries", "QuerySource", "Round"]

log = structlog.get_logger(__name__)

#: Rows asked for per page (graph-engine's largest page).
PAGE = 10_000


@dataclass(frozen=True)
class Answer:
    rows: list[dict[str, Any]]
    complete: bool


class QuerySource(Protocol):
    async def answer(self, name: str, params: Mapping[str, Any], max_rows: int) -> Answer: ...


class QueryFailed(Exception):
    """The query gave no answer; the message says why."""


class GraphQueries:
    """Catalogue answers from graph-engine's internal API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def answer(self, name: str, params: Mapping[str, Any], max_rows: int) -> Answer:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            limit = min(PAGE, max_rows - len(rows))
            try:
                response = await self._client.post(
                    f"/internal/queries/{quote(name, safe='')}",
                    params={"limit": limit, "offset": offset},
                    json=dict(params),
                )
            except httpx.HTTPError as exc:
                raise QueryFailed(f"graph-engine unreachable: {exc}") from None
            if response.status_code != 200:
                detail = response.text[:300]
                raise QueryFailed(f"graph-engine answered {response.status_code}: {detail}")
            body = response.json()
            page = body.get("rows") or []
            rows.extend(page)
            total = int(body.get("row_count", len(rows)))
            # an answer that does not page holds every row at once
            if "offset" not in body or body.get("offset") is None:
                return Answer(rows[:max_rows], complete=len(page) <= max_rows)
            offset += len(page)
            if offset >= total or not page:
                return Answer(rows, complete=True)
            if len(rows) >= max_rows:
                return Answer(rows, complete=False)


@dataclass
class Round:
    """What one evaluation of every rule did."""

    started_at: datetime
    evaluations: list[Evaluation] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    pushed: int | None = None
    elapsed_s: float = 0.0

    @property
    def fired(self) -> list[Transition]:
        return [t for e in self.evaluations for t in e.fired]

    @property
    def resolved(self) -> list[Transition]:
        return [t for e in self.evaluations for t in e.resolved]

    def summary(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "rules": len(self.evaluations) + len(self.failed),
            "fired": len(self.fired),
            "resolved": len(self.resolved),
            "failed": self.failed,
            "pushed": self.pushed,
            "elapsed_s": round(self.elapsed_s, 3),
        }


Listener = Callable[[Round], Awaitable[None]]


class Evaluator:
    def __init__(
        self,
        rules: Sequence[AlertRule],
        store: AlertStore,
        source: QuerySource,
        *,
        push: AlertmanagerPush | None = None,
        max_rows: int = 200_000,
        push_resolved_for: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.rules = list(rules)
        self.store = store
        self.source = source
        self.push = push
        self.max_rows = max_rows
        self.push_resolved_for = push_resolved_for
        self.clock = clock
        self.last: Round | None = None
        self.listeners: list[Listener] = []
        self._lock = asyncio.Lock()

    async def run_once(self) -> Round:
        """Evaluate every rule once (one round at a time), then push to Alertmanager."""
        async with self._lock:
            started = time.monotonic()
            now = self.clock()
            result = Round(started_at=now)
            for rule in self.rules:
                try:
                    answer = await self.source.answer(rule.query, rule.params, self.max_rows)
                except QueryFailed as exc:
                    result.failed[rule.name] = str(exc)
                    log.warning("alerts.rule.failed", rule=rule.name, error=str(exc))
                    continue
                evaluation = await self.store.evaluate(
                    rule, answer.rows, now, complete=answer.complete
                )
                if evaluation.over_limit:
                    log.warning(
                        "alerts.rule.over_limit", rule=rule.name, rows=evaluation.over_limit
                    )
                result.evaluations.append(evaluation)
            if self.push is not None and self.push.urls:
                open_alerts, _ = await self.store.find(limit=100_000)
                resolved = await self.store.recently_resolved(now - self.push_resolved_for)
                result.pushed = await self.push.push([*open_alerts, *resolved])
            result.elapsed_s = time.monotonic() - started
            self.last = result
        log.info("alerts.round", **result.summary())
        for listener in self.listeners:
            await listener(result)
        return result
