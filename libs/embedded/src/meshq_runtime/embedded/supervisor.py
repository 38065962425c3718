"""Supervision of ``meshq serve``'s children, the way an init system does it.

- A child that exits while the stack runs is restarted on the same port with the same
  environment, after an exponential backoff (:class:`Backoff`: 0.5 s doubling to 30 s). Each
  exit and restart is logged with the exit code or signal and the attempt; the other children
  keep running. A child that stayed up :attr:`Backoff.stable_after` seconds starts again from
  the shortest delay; one that failed :attr:`Backoff.crash_loop_after` times in a row is
  reported as crash-looping and is still retried, at the longest delay.
- A restarted child counts as up once it answers (``GET /health`` for a service, the part's
  own probe for the broker and the stores), and once its ``after_up`` hook succeeded (the
  broker's: create the topics again, since it keeps nothing across a restart).
- :meth:`Supervisor.snapshot` is what the aggregate ``/ready`` shows: every child's state,
  since when, its restart count and how it last exited.
- :meth:`Supervisor.shutdown` stops the children in dependency order
  (:mod:`meshq_runtime.embedded.shutdown`).

Everything runs on the thread that calls :meth:`tick` (the main thread: children get
``PR_SET_PDEATHSIG`` only when spawned from it); :meth:`snapshot` may be called from any thread.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from meshq_runtime.embedded.shutdown import BROKER, STOP_ORDER, STORE, stop_in_stages

__all__ = [
    "BROKER",
    "STOP_ORDER",
    "STORE",
    "Backoff",
    "Supervised",
    "Supervisor",
    "Unit",
    "describe_exit",
]

log = structlog.get_logger(__name__)


class Supervised(Protocol):
    """What the supervisor needs of a child: a service (``ServiceChild``) or an embedded part
    (``EmbeddedProcess``)."""

    log_path: Path

    @property
    def running(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def respawn(self) -> None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``initial * factor**(failures-1)``, at most ``maximum`` seconds."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    #: Seconds up after which a child's next exit counts as a first failure again.
    stable_after: float = 60.0
    #: Consecutive failures after which a child is reported as crash-looping.
    crash_loop_after: int = 5
    #: Seconds a restarted child has to answer before it is killed and counted as failed.
    start_timeout: float = 120.0

    def delay(self, failures: int) -> float:
        return float(min(self.maximum, self.initial * self.factor ** max(0, failures - 1)))


def describe_exit(code: int | None) -> str:
    """``exit code 1``, ``killed by SIGKILL``, or ``gone`` (no status)."""
    if code is None:
        return "gone"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")


@dataclass
class Unit:
    """One supervised child and what the supervisor knows of it."""

    name: str
    stage: str
    process: Supervised
    #: Whether it answers now (no waiting): run after every (re)start until it does.
    check: Callable[[], bool]
    #: Work once it answers again after a restart (the broker's topics); an error retries.
    after_up: Callable[[], None] | None = None
    state: str = "starting"  #: starting | up | backoff | stopping | stopped
    since: float = field(default_factory=time.time)  #: wall time of the last state change
    down_since: float | None = None  #: wall time it went down; None while it is up
    restarts: int = 0  #: restarts so far
    failures: int = 0  #: consecutive failed runs (reset once it stayed up long enough)
    last_exit: str | None = None
    last_recovery_s: float | None = None  #: from its last exit until it answered again
    started_at: float = 0.0  #: monotonic time of the last spawn
    up_at: float = 0.0  #: monotonic time it last came up
    restart_at: float = 0.0  #: monotonic time the backoff ends


class Supervisor:
    """Keeps the registered children running; see the module docstring."""

    def __init__(
        self,
        backoff: Backoff | None = None,
        *,
        notify: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backoff = backoff or Backoff()
        self._notify = notify or (lambda _line: None)
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._units: dict[str, Unit] = {}
        self._lock = threading.Lock()
        self.stopping = False

    # -- registration ------------------------------------------------------------------------
    def add(self, unit: Unit, *, up: bool = False) -> Unit:
        """Watch ``unit`` (already spawned): ``up`` when it answered already, else starting."""
        with self._lock:
            unit.state = "up" if up else "starting"
            unit.since = self._wall()
            unit.started_at = unit.up_at = self._clock()
            self._units[unit.name] = unit
        return unit

    def mark_up(self, name: str) -> None:
        """A child that answered during the start-up (waited for by the caller)."""
        with self._lock:
            unit = self._units[name]
            if unit.state == "starting":
                unit.state, unit.since, unit.up_at = "up", self._wall(), self._clock()

    def unit(self, name: str) -> Unit:
        return self._units[name]

    @property
    def units(self) -> list[Unit]:
        return list(self._units.values())

    # -- supervision ---------------------------------------------------------------------------
    def tick(self) -> None:
        """Look at every child once: notice exits, restart what is due, see what answers."""
        if self.stopping:
            return
        for unit in self.units:
            try:
                self._tick(unit)
            except Exception as exc:  # one child's trouble must not stop the others' care
                log.error("serve.supervise_failed", child=unit.name, error=_short(exc))

    def _tick(self, unit: Unit) -> None:
        now = self._clock()
        if unit.state in ("up", "starting"):
            code = unit.process.poll()
            if code is not None:
                self._exited(unit, describe_exit(code), now)
            elif unit.state == "starting":
                self._check_starting(unit, now)
        elif unit.state == "backoff" and now >= unit.restart_at:
            self._restart(unit, now)

    def _check_starting(self, unit: Unit, now: float) -> None:
        if unit.check():
            if unit.after_up is not None and unit.restarts:
                try:
                    unit.after_up()
                except Exception as exc:
                    log.warning("serve.child_after_up_failed", child=unit.name, error=_short(exc))
                    self._give_up_after_timeout(unit, now, f"not usable: {_short(exc)}")
                    return
            self._came_up(unit, now)
        else:
            self._give_up_after_timeout(unit, now, "no answer")

    def _give_up_after_timeout(self, unit: Unit, now: float, why: str) -> None:
        """A restart that is still not usable after ``start_timeout`` is killed and failed."""
        if now - unit.started_at <= self.backoff.start_timeout:
            return
        log.error(
            "serve.child_start_timeout",
            child=unit.name,
            timeout_s=self.backoff.start_timeout,
            reason=why,
        )
        unit.process.kill()
        self._exited(unit, f"{why} within {self.backoff.start_timeout:.0f}s", now)

    def _exited(self, unit: Unit, how: str, now: float) -> None:
        with self._lock:
            if unit.state == "up" and now - unit.up_at >= self.backoff.stable_after:
                unit.failures = 0
            unit.failures += 1
            delay = self.backoff.delay(unit.failures)
            unit.last_exit = how
            if unit.down_since is None:
                unit.down_since = self._wall()
            unit.state, unit.since, unit.restart_at = "backoff", self._wall(), now + delay
        looping = unit.failures >= self.backoff.crash_loop_after
        log.error(
            "serve.child_exited",
            child=unit.name,
            exit=how,
            attempt=unit.restarts + 1,
            failures=unit.failures,
            restart_in_s=round(delay, 2),
            crash_looping=looping,
            log_file=str(unit.process.log_path),
        )
        if looping:
            log.error(
                "serve.child_crash_looping",
                child=unit.name,
                failures=unit.failures,
                restart_in_s=round(delay, 2),
                log_file=str(unit.process.log_path),
            )
            self._notify(
                f"{unit.name} keeps crashing ({unit.failures} failures in a row, last: {how}); "
                f"next try in {delay:.0f}s (then at most every "
                f"{self.backoff.maximum:.0f}s), see {unit.process.log_path}"
            )
        else:
            self._notify(
                f"{unit.name} {how}; restarting in {delay:.1f}s (attempt {unit.restarts + 1})"
            )

    def _restart(self, unit: Unit, now: float) -> None:
        with self._lock:
            unit.restarts += 1
            unit.state, unit.since, unit.started_at = "starting", self._wall(), now
        log.info("serve.child_restarting", child=unit.name, attempt=unit.restarts)
        try:
            unit.process.respawn()
        except Exception as exc:  # the binary vanished, the port was taken, …
            self._exited(unit, f"could not start: {_short(exc)}", now)
            return
        log.info(
            "serve.child_restarted", child=unit.name, pid=unit.process.pid, attempt=unit.restarts
        )

    def _came_up(self, unit: Unit, now: float) -> None:
        with self._lock:
            recovered = None
            if unit.down_since is not None:
                recovered = round(self._wall() - unit.down_since, 2)
                unit.last_recovery_s = recovered
            unit.state, unit.since, unit.up_at, unit.down_since = "up", self._wall(), now, None
        if recovered is not None:
            log.info(
                "serve.child_recovered",
                child=unit.name,
                pid=unit.process.pid,
                restarts=unit.restarts,
                downtime_s=recovered,
            )
            self._notify(f"{unit.name} is back after {recovered:.1f}s (restart {unit.restarts})")

    # -- what /ready shows ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Every child's state; ``ready`` when all are up. Safe from any thread."""
        now = self._clock()
        with self._lock:
            children: dict[str, Any] = {}
            for u in self._units.values():
                entry: dict[str, Any] = {
                    "state": u.state,
                    "stage": u.stage,
                    "pid": u.process.pid if u.state in ("up", "starting") else None,
                    "since": _iso(u.since),
                    "restarts": u.restarts,
                }
                if u.down_since is not None:
                    entry["down_since"] = _iso(u.down_since)
                if u.last_exit is not None:
                    entry["last_exit"] = u.last_exit
                if u.last_recovery_s is not None:
                    entry["last_recovery_s"] = u.last_recovery_s
                if u.state == "backoff":
                    entry["restart_in_s"] = round(max(0.0, u.restart_at - now), 2)
                if u.failures >= self.backoff.crash_loop_after and u.state != "up":
                    entry["crash_looping"] = True
                children[u.name] = entry
            down = sorted(n for n, c in children.items() if c["state"] != "up")
            if self.stopping:
                status = "stopping"
            elif not down:
                status = "ready"
            elif all(
                self._units[n].restarts == 0 and self._units[n].state == "starting" for n in down
            ):
                status = "starting"
            else:
                status = "degraded"
        return {"status": status, "unavailable": down, "children": children}

    # -- shutdown ----------------------------------------------------------------------------
    def shutdown(
        self,
        total: float = 30.0,
        *,
        drain: Callable[[float], object] | None = None,
        order: Sequence[tuple[str, float]] = STOP_ORDER,
    ) -> None:
        """Stop every child in dependency order within ``total`` seconds; nothing is
        restarted from now on (:func:`~meshq_runtime.embedded.shutdown.stop_in_stages`)."""
        self.stopping = True
        stop_in_stages(
            self.units,
            total=total,
            drain=drain,
            order=order,
            clock=self._clock,
            sleep=self._sleep,
            mark=self._mark,
        )

    def _mark(self, units: Sequence[Unit], state: str) -> None:
        with self._lock:
            for u in units:
                u.state, u.since = state, self._wall()


def _short(exc: BaseException, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
