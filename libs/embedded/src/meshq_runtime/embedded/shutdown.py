"""The staged shutdown of ``meshq serve``: entry points, processors, stores, broker.

Each stage gets its share of the total time (:data:`STOP_ORDER`): its children get their stop
signal (SIGTERM; PostgreSQL's is SIGINT, its fast shutdown), and SIGKILL when the share is
spent. A stage starts once the one before it is over, and none runs past the overall
deadline. Before the processors stop, a ``drain`` callback may wait (at most
:data:`DRAIN_SHARE` of their share) until the consumers have read what the entry points sent
last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import structlog

from meshq_runtime.embedded.services import ENTRY, PROCESSOR

if TYPE_CHECKING:
    from meshq_runtime.embedded.supervisor import Unit

__all__ = ["BROKER", "DRAIN_SHARE", "STOP_ORDER", "STORE", "stop_in_stages"]

log = structlog.get_logger(__name__)

#: Shutdown stage of PostgreSQL and Redis.
STORE = "store"
#: Shutdown stage of the Kafka broker: last, after everything that publishes or consumes.
BROKER = "broker"
#: Stages in the order they are stopped, each with its share of the total stop time.
STOP_ORDER: tuple[tuple[str, float], ...] = (
    (ENTRY, 0.3),
    (PROCESSOR, 0.4),
    (STORE, 0.2),
    (BROKER, 0.1),
)
#: Of the processors' share, at most this part waits for their inputs to drain.
DRAIN_SHARE = 0.4


def stop_in_stages(
    units: Sequence[Unit],
    *,
    total: float,
    drain: Callable[[float], object] | None,
    order: Sequence[tuple[str, float]],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    mark: Callable[[Sequence[Unit], str], None],
) -> None:
    """Stop ``units`` stage by stage within ``total`` seconds; ``mark(units, state)`` records
    ``stopping`` and ``stopped`` where ``/ready`` reads it."""
    started = clock()
    deadline = started + total
    known = {stage for stage, _ in order}
    stages = [*order, *((u.stage, 0.0) for u in units if u.stage not in known)]
    for stage, share in stages:
        members = [u for u in units if u.stage == stage]
        if not members:
            continue
        stage_deadline = min(deadline, clock() + max(share * total, 1.0))
        if stage == PROCESSOR and drain is not None:
            budget = min(stage_deadline - clock(), share * total * DRAIN_SHARE)
            if budget > 0:
                try:
                    drain(budget)
                except Exception as exc:  # stopping goes on without it
                    log.warning("serve.drain_failed", error=_short(exc))
        _stop_stage(stage, members, stage_deadline, clock=clock, sleep=sleep, mark=mark)
    log.info("serve.all_stopped", elapsed_s=round(clock() - started, 2))


def _stop_stage(
    stage: str,
    units: list[Unit],
    deadline: float,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    mark: Callable[[Sequence[Unit], str], None],
) -> None:
    began = clock()
    live = [u for u in units if u.process.running]
    log.info(
        "serve.stop_stage",
        stage=stage,
        children=[u.name for u in units],
        timeout_s=round(max(0.0, deadline - began), 2),
    )
    mark(units, "stopping")
    for u in live:
        try:
            u.process.terminate()
        except Exception as exc:
            log.warning("serve.stop_signal_failed", child=u.name, error=_short(exc))
    while any(u.process.running for u in live) and clock() < deadline:
        sleep(0.05)
    forced = [u for u in live if u.process.running]
    for u in forced:
        log.warning("serve.stop_forced", child=u.name, stage=stage, pid=u.process.pid)
        u.process.kill()
    grace = clock() + 2.0
    while any(u.process.running for u in forced) and clock() < grace:
        sleep(0.05)
    for u in units:
        try:
            u.process.kill()  # leftovers in its process group; a no-op once it is gone
        except Exception as exc:
            log.warning("serve.stop_failed", child=u.name, error=_short(exc))
    mark(units, "stopped")
    log.info(
        "serve.stage_stopped",
        stage=stage,
        elapsed_s=round(clock() - began, 2),
        forced=[u.name for u in forced],
    )


def _short(exc: BaseException, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
