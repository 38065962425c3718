"""Compliance runs: every collected device against every rule, on demand or after a snapshot.

A run reads what the rules need from the graph and the configuration store, then evaluates
only the devices whose inputs changed since the newest run with the same packs (a digest of
everything a rule reads about the device); the others keep that run's results. Runs never
overlap: one waits for the other. After a snapshot is applied (``topology.changed``) a run
is started in the background; several snapshots in a row start one more run, not several.

A run asked for on demand (:meth:`ComplianceService.start`) has its id from the start and runs
as a task of its own: the query waits for it a bounded time and, past that, answers with the
id and ``running`` (the first run over a large network takes longer than a gateway waits);
the run goes on, and its results are read by that id once it is done.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.compliance.configs import ConfigStore
from meshq_graph_engine.compliance.evaluate import evaluate_device
from meshq_graph_engine.compliance.history import History
from meshq_graph_engine.compliance.inputs import read_inputs
from meshq_graph_engine.compliance.packs import Pack, load_packs

__all__ = ["STATUSES", "ComplianceService", "diff_rows", "new_run_id"]

log = structlog.get_logger(__name__)

STATUSES = ("pass", "fail", "not_applicable", "unknown")
#: Runs that failed after their query stopped waiting, kept (newest last) to say why.
FAILED_KEPT = 20


def new_run_id(now: datetime) -> str:
    return f"r-{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}"


def _digest(packs: list[Pack]) -> str:
    body = json.dumps([p.model_dump(mode="json") for p in packs], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def diff_rows(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results whose status differs between two runs, each with ``previous_status``
    (null: the result is new); a result the later run no longer has is ``absent``."""
    key = ("device", "pack", "rule")
    old = {tuple(r[k] for k in key): r for r in before}
    new = {tuple(r[k] for k in key): r for r in after}
    changed = []
    for k, row in new.items():
        prior = old.get(k)
        if prior is None or prior["status"] != row["status"]:
            changed.append({**row, "previous_status": None if prior is None else prior["status"]})
    for k, row in old.items():
        if k not in new:
            changed.append(
                {**row, "status": "absent", "previous_status": row["status"], "evidence": []}
            )
    return sorted(changed, key=lambda r: tuple(r[k] for k in key))


class ComplianceService:
    def __init__(
        self,
        store: GraphStore,
        history: History,
        configs: ConfigStore | None,
        packs_dir: str | Path | None = None,
    ) -> None:
        self.store = store
        self.history = history
        self.configs = configs
        self.packs_dir = packs_dir
        self._lock = asyncio.Lock()
        self._pending: str | None = None
        self._background: asyncio.Task[None] | None = None
        #: On-demand runs in progress: run id -> (task, started_at, trigger).
        self._running: dict[str, tuple[asyncio.Task[dict[str, Any]], str, str]] = {}
        #: Why on-demand runs failed, by run id (the newest :data:`FAILED_KEPT`).
        self._failed: dict[str, str] = {}

    def packs(self) -> list[Pack]:
        """The packs as they are on disk now (a customer's edits count from the next run)."""
        return load_packs(self.packs_dir)

    async def run(self, trigger: str = "on_demand", run_id: str | None = None) -> dict[str, Any]:
        """One run; its record (the rows are in the history)."""
        async with self._lock:
            return await self._run(trigger, run_id)

    def start(self, trigger: str = "on_demand") -> tuple[str, asyncio.Task[dict[str, Any]]]:
        """Start a run as a task of its own (it goes on when whoever waits for it stops);
        its id, known now, and the task."""
        started = datetime.now(UTC)
        run_id = new_run_id(started)
        task = asyncio.create_task(self.run(trigger, run_id), name=f"compliance-{run_id}")
        self._running[run_id] = (task, started.isoformat(), trigger[:200])

        def finished(done: asyncio.Task[dict[str, Any]]) -> None:
            self._running.pop(run_id, None)
            if done.cancelled():
                error: BaseException | None = asyncio.CancelledError()
            else:
                error = done.exception()
            if error is not None:
                self._failed[run_id] = f"{type(error).__name__}: {error}"[:500]
                while len(self._failed) > FAILED_KEPT:
                    self._failed.pop(next(iter(self._failed)))

        task.add_done_callback(finished)
        return run_id, task

    def in_progress(self, run_id: str) -> dict[str, Any] | None:
        """A run started on demand and not done yet: its id, when it started, its trigger."""
        found = self._running.get(run_id)
        if found is None:
            return None
        return {"run_id": run_id, "started_at": found[1], "trigger": found[2]}

    def failure(self, run_id: str) -> str | None:
        """Why a run started on demand failed (None: it did not, or it is not remembered)."""
        return self._failed.get(run_id)

    async def _run(self, trigger: str, run_id: str | None = None) -> dict[str, Any]:
        started = datetime.now(UTC)
        packs = self.packs()
        digest = _digest(packs)
        inputs = await read_inputs(self.store, self.configs)
        newest = await self.history.runs(1)
        previous = newest[0] if newest else None
        reuse: dict[str, list[dict[str, Any]]] = {}
        old_prints: dict[str, str] = {}
        if previous is not None:
            record = await self.history.run(previous["run_id"])
            if record is not None and record.get("packs_digest", digest) == digest:
                old_prints = record.get("fingerprints") or {}
                for row in await self.history.rows(previous["run_id"]):
                    reuse.setdefault(row["device"], []).append(row)
        rows: list[dict[str, Any]] = []
        prints: dict[str, str] = {}
        evaluated = 0
        todo = []
        for item in inputs:
            fingerprint = f"{digest}:{item.fingerprint()}"
            prints[item.device] = fingerprint
            if old_prints.get(item.device) == fingerprint and item.device in reuse:
                rows.extend(reuse[item.device])
            else:
                todo.append(item)
        if todo:
            evaluated = len(todo)
            fresh = await asyncio.to_thread(
                lambda: [r.as_row() for item in todo for r in evaluate_device(item, packs)]
            )
            rows.extend(fresh)
        rows.sort(key=lambda r: (r["device"], r["pack"], r["rule"]))
        summary = Counter(r["status"] for r in rows)
        finished = datetime.now(UTC)
        run: dict[str, Any] = {
            "run_id": run_id or new_run_id(started),
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat(),
            "trigger": trigger[:200],
            "packs": [p.pack for p in packs],
            "devices": len(inputs),
            "evaluated": evaluated,
            "reused": len(inputs) - evaluated,
            "summary": {s: summary.get(s, 0) for s in STATUSES},
            "fingerprints": prints,
        }
        await self.history.save({**run, "packs_digest": digest}, rows)
        log.info(
            "compliance.run",
            run_id=run["run_id"],
            trigger=run["trigger"],
            devices=run["devices"],
            evaluated=evaluated,
            failed=summary.get("fail", 0),
        )
        run.pop("fingerprints")
        return run

    # --- after each snapshot ---------------------------------------------------------------

    async def on_topology_changed(self, event: Any) -> None:
        """A snapshot was applied: run in the background (one more run however many come)."""
        data = getattr(event, "data", None)
        snapshot = getattr(data, "snapshot_id", None)
        if snapshot is None:
            return  # a rejected snapshot changed nothing
        self._pending = f"snapshot:{snapshot}"
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._drain(), name="compliance-after-snapshot")

    async def _drain(self) -> None:
        while self._pending is not None:
            trigger, self._pending = self._pending, None
            try:
                await self.run(trigger)
            except Exception as exc:  # a failed run must not stop the next one
                log.error("compliance.run_failed", trigger=trigger, error=str(exc)[:300])

    async def close(self) -> None:
        tasks = [self._background, *(t for t, _, _ in self._running.values())]
        live = [t for t in tasks if t is not None and not t.done()]
        for task in live:
            task.cancel()
        await asyncio.gather(*live, return_exceptions=True)
