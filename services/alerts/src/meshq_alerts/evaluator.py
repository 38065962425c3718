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
from meshq_alerts.sources import (
    BlastFigures,
    InterfaceWindow,
    redundancy_rows,
    visibility_rows,
)
from meshq_alerts.store import AlertStore, Evaluation, Transition, device_names

__all__ = ["Answer", "Evaluator", "GraphQueries", "QueryNotLicensed", "QuerySource", "Round"]

log = structlog.get_logger(__name__)

#: Rows asked for per page (graph-engine's largest page).
PAGE = 10_000
#: The depth of the blast figures an alert's labels carry (``blast_labels``).
LABEL_DEPTH = 3


@dataclass(frozen=True)
class Answer:
    rows: list[dict[str, Any]]
    complete: bool


class QuerySource(Protocol):
    async def answer(self, name: str, params: Mapping[str, Any], max_rows: int) -> Answer: ...


class QueryFailed(Exception):
    """The query gave no answer; the message says why."""


class QueryNotLicensed(QueryFailed):
    """The service refused the query: the installation's plan lacks its feature (a rule over
    the Synthetic queries without synthetic_monitoring). Said once, not every round."""


class GraphQueries:
    """Catalogue answers from graph-engine's internal API; ``routes`` sends the queries whose
    name starts with a prefix to the service that serves them (``meshq_synthetic_``: the
    prober), over the same internal query API."""

    def __init__(
        self, client: httpx.AsyncClient, routes: Mapping[str, httpx.AsyncClient] | None = None
    ) -> None:
        self._graph = client
        self._routes = dict(routes or {})

    async def answer(self, name: str, params: Mapping[str, Any], max_rows: int) -> Answer:
        client = next(
            (c for prefix, c in self._routes.items() if name.startswith(prefix)), self._graph
        )
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            limit = min(PAGE, max_rows - len(rows))
            try:
                response = await client.post(
                    f"/internal/queries/{quote(name, safe='')}",
                    params={"limit": limit, "offset": offset},
                    json=dict(params),
                )
            except httpx.HTTPError as exc:
                raise QueryFailed(f"graph-engine unreachable: {exc}") from None
            if response.status_code != 200:
                detail = response.text[:300]
                if response.status_code == 403 and _feature_of(response):
                    raise QueryNotLicensed(
                        f"the plan lacks {_feature_of(response)}, which {name} needs"
                    )
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


def _feature_of(response: httpx.Response) -> str | None:
    """The plan feature a 403 problem names, if it names one."""
    try:
        problem = response.json()
    except ValueError:
        return None
    feature = problem.get("feature") if isinstance(problem, dict) else None
    return str(feature)[:64] if feature else None


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
        metrics: InterfaceWindow | None = None,
        blast: BlastFigures | None = None,
        max_rows: int = 200_000,
        push_resolved_for: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.rules = list(rules)
        self.store = store
        self.source = source
        self.push = push
        self.metrics = metrics
        self.blast = blast
        self.max_rows = max_rows
        self.push_resolved_for = push_resolved_for
        self.clock = clock
        self.last: Round | None = None
        self.listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        #: Rules whose query the plan does not include (said once, until it answers again).
        self._unlicensed: set[str] = set()

    async def run_once(self) -> Round:
        """Evaluate every rule once (one round at a time), then push to Alertmanager."""
        async with self._lock:
            started = time.monotonic()
            now = self.clock()
            result = Round(started_at=now)
            refreshed: dict[int, str | None] = {}
            # the rules that need the blast figures last: a long pass (the first, at start)
            # holds back only them
            ordered = sorted(
                self.rules,
                key=lambda r: (r.query in ("device_blast", "device_redundancy"), r.blast_labels),
            )
            for rule in ordered:
                try:
                    answer = await self._answer(rule, now, refreshed)
                    labels = await self._labels(rule, answer.rows, now, refreshed)
                except QueryNotLicensed as exc:
                    result.failed[rule.name] = str(exc)
                    if rule.name not in self._unlicensed:
                        self._unlicensed.add(rule.name)
                        log.info("alerts.rule.not_licensed", rule=rule.name, error=str(exc))
                    continue
                except QueryFailed as exc:
                    result.failed[rule.name] = str(exc)
                    log.warning("alerts.rule.failed", rule=rule.name, error=str(exc))
                    continue
                self._unlicensed.discard(rule.name)
                evaluation = await self.store.evaluate(
                    rule, answer.rows, now, complete=answer.complete, extra_labels=labels
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

    async def _refresh(self, depth: int, now: datetime, refreshed: dict[int, str | None]) -> None:
        """The blast figures at ``depth`` brought up to date, once per round."""
        if self.blast is None:
            raise QueryFailed("blast figures are not available in this process")
        if depth not in refreshed:
            try:
                await self.blast.refresh(depth, now)
                refreshed[depth] = None
            except QueryFailed as exc:
                refreshed[depth] = str(exc)
        if refreshed[depth] is not None:
            raise QueryFailed(str(refreshed[depth]))

    async def _answer(
        self, rule: AlertRule, now: datetime, refreshed: dict[int, str | None]
    ) -> Answer:
        if rule.query == "interface_window":
            if self.metrics is None:
                raise QueryFailed("the metrics store is not available in this process")
            return await self.metrics.answer(rule.params, now, self.max_rows)
        if rule.query == "device_visibility":
            links = await self.source.answer("lldp_neighbors", {}, 5_000_000)
            if not links.complete:
                raise QueryFailed("lldp_neighbors answered more links than can be read")
            rows = visibility_rows(links.rows)
            return Answer(rows[: self.max_rows], complete=len(rows) <= self.max_rows)
        if rule.query in ("device_blast", "device_redundancy"):
            depth = int(rule.params["depth"])
            await self._refresh(depth, now, refreshed)
            figures = await self.store.blast_rows(depth)
            if rule.query == "device_blast":
                rows = figures
            else:
                affected = await self.store.blast_affected(depth)
                rows = redundancy_rows(figures, affected, rule.params.get("role"))
            return Answer(rows[: self.max_rows], complete=len(rows) <= self.max_rows)
        return await self.source.answer(rule.query, rule.params, self.max_rows)

    async def _labels(
        self,
        rule: AlertRule,
        rows: Sequence[Mapping[str, Any]],
        now: datetime,
        refreshed: dict[int, str | None],
    ) -> dict[str, dict[str, str]]:
        """Blast-size labels for the devices of the rows that match a ``blast_labels`` rule;
        none (the alert goes out without them) when the figures cannot be had."""
        if not rule.blast_labels or self.blast is None:
            return {}
        try:
            await self._refresh(LABEL_DEPTH, now, refreshed)
        except QueryFailed as exc:
            log.warning("alerts.blast_labels.unavailable", rule=rule.name, error=str(exc))
        if rule.when == "absent":
            # what fires is what the answer lacks: any device held may be named
            return await self.blast.labels(None, LABEL_DEPTH)
        devices = {d for row in rows if rule.matches(row) for d in device_names(row)}
        return await self.blast.labels(devices, LABEL_DEPTH) if devices else {}
