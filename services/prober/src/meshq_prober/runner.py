"""Runs every defined probe on its interval and records each result.

One task per probe; the set follows the definitions in PostgreSQL (:meth:`Runner.reload`
after the API changes them, and every ``reload_s`` for other replicas' changes). A failing
run carries the path graph-engine computes, asked again at most every ``path_every_s`` while
the probe keeps failing (at every run while the answer is unknown). Results older than the
retention are deleted every ``expire_every_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from meshq_prober.checks import Outcome, Prober
from meshq_prober.definitions import (
    DnsProbe,
    HttpProbe,
    IcmpProbe,
    Limits,
    ProbeDefinitionError,
    TcpProbe,
    parse_probe,
)
from meshq_prober.explain import PathExplainer
from meshq_prober.store import ProbeStore

__all__ = ["Runner"]

log = structlog.get_logger(__name__)

Spec = IcmpProbe | TcpProbe | HttpProbe | DnsProbe


class Runner:
    def __init__(
        self,
        store: ProbeStore,
        prober: Prober,
        explainer: PathExplainer,
        limits: Limits,
        *,
        retention_s: float,
        concurrency: int = 64,
        reload_s: float = 30.0,
        path_every_s: float = 300.0,
        expire_every_s: float = 600.0,
    ) -> None:
        self.store = store
        self.prober = prober
        self.explainer = explainer
        self.limits = limits
        self.retention_s = retention_s
        self.reload_s = reload_s
        self.path_every_s = path_every_s
        self.expire_every_s = expire_every_s
        self._gate = asyncio.Semaphore(concurrency)
        self._tasks: dict[str, tuple[Spec, asyncio.Task[None]]] = {}
        #: Per probe: whether the last run failed, and when its path was last asked.
        self._failing: dict[str, float] = {}
        self._last_path: dict[str, dict[str, Any]] = {}
        self._wake = asyncio.Event()
        self._main: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._main = asyncio.create_task(self._loop(), name="prober-runner")

    async def stop(self) -> None:
        tasks = [t for _, t in self._tasks.values()]
        if self._main is not None:
            tasks.append(self._main)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def reload(self) -> None:
        self._wake.set()

    @property
    def running(self) -> list[str]:
        return sorted(self._tasks)

    async def _loop(self) -> None:
        last_expire = -float("inf")
        while True:
            try:
                await self._sync()
                if time.monotonic() - last_expire >= self.expire_every_s:
                    cutoff = datetime.now(UTC) - timedelta(seconds=self.retention_s)
                    deleted = await self.store.expire(cutoff)
                    last_expire = time.monotonic()
                    if deleted:
                        log.info("prober.expired", results=deleted)
            except Exception:  # PostgreSQL away: the next round retries
                log.exception("prober.sync_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.reload_s)
            self._wake.clear()

    async def _sync(self) -> None:
        wanted: dict[str, Spec] = {}
        for raw in await self.store.definitions():
            try:
                spec = parse_probe(raw, self.limits)
            except ProbeDefinitionError as exc:  # stored under looser bounds: not run
                log.warning("prober.definition_skipped", error=str(exc))
                continue
            wanted[spec.name] = spec
        for name in list(self._tasks):
            spec, task = self._tasks[name]
            if wanted.get(name) != spec:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                del self._tasks[name]
                self._failing.pop(name, None)
        for name, spec in wanted.items():
            if name not in self._tasks:
                task = asyncio.create_task(self._every(spec), name=f"probe-{name}")
                self._tasks[name] = (spec, task)

    async def _every(self, spec: Spec) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            try:
                await self.run_once(spec)
            except Exception:  # a store error: logged, the probe keeps its schedule
                log.exception("prober.run_failed", probe=spec.name)
            next_at += spec.interval_s
            now = loop.time()
            if next_at < now:  # a run longer than the interval: skip the missed slots
                next_at = now
            await asyncio.sleep(next_at - now)

    async def run_once(self, spec: Spec) -> Outcome:
        """Run the probe now and record the result (what the schedule does)."""
        async with self._gate:
            at = datetime.now(UTC)
            outcome = await self.prober.run(spec)
        path = None
        if not outcome.success:
            path = await self._path(spec, outcome)
            log.info("prober.failed", probe=spec.name, error=outcome.error)
        else:
            self._failing.pop(spec.name, None)
            self._last_path.pop(spec.name, None)
        await self.store.record(
            spec.name,
            at,
            outcome.success,
            outcome.phases,
            outcome.status_code,
            outcome.error,
            outcome.detail,
            path,
        )
        return outcome

    async def _path(self, spec: Spec, outcome: Outcome) -> dict[str, Any]:
        now = time.monotonic()
        asked = self._failing.get(spec.name)
        if asked is not None and now - asked < self.path_every_s:
            return self._last_path.get(spec.name) or {"status": "unknown"}
        path = await self.explainer.explain(spec, outcome)
        if path.get("status") == "known":  # an unreachable graph-engine is asked again next run
            self._failing[spec.name] = now
            self._last_path[spec.name] = path
        return path
