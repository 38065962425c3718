"""Noticing that the broker lost its log, so that producers re-send what they still owe.

Apache Kafka keeps its log across a restart; the embedded broker (Tansu, memory storage) does
not, and an unclean leader election can cut a log too. A partition's offsets only ever grow
while its log lives, so an offset lower than one already seen on the same partition means the
log was lost: a record acknowledged by the broker (offset of a produce answer) or consumed from
it can no longer be relied on to be there.

One :class:`LogResets` per process (the :class:`~meshq_runtime.kafka.broker.EventBus` holds
it) collects what the producer and the consumers see and tells its listeners once per reset:
the audit buffer re-sends the events not yet confirmed, the outbox relay re-publishes the rows
its consumers may not have read.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

__all__ = ["LogResets"]

log = structlog.get_logger(__name__)

Listener = Callable[[str], object]


class LogResets:
    """Offsets seen per partition, and the listeners to call when one goes backwards.

    Offsets are kept apart per ``view`` (the producer's acknowledgements, each consumer
    group's records): a consumer that lags behind what the same process produced is not a
    reset. Signals within ``debounce_s`` of the last reset are taken as the same reset.
    """

    def __init__(self, *, debounce_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        #: (view, topic, partition) -> (highest offset seen, when it was seen)
        self._seen: dict[tuple[str, str, int], tuple[int, float]] = {}
        self._listeners: list[Listener] = []
        self._debounce_s = debounce_s
        self._clock = clock
        self._last: float | None = None
        #: Resets noticed since the process started.
        self.count = 0

    def now(self) -> float:
        return self._clock()

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def observe(
        self, view: str, topic: str, partition: int, offset: int, *, since: float | None = None
    ) -> bool:
        """Record an offset seen on ``topic``/``partition``; True (and listeners told) when it
        is lower than one seen before in the same ``view``.

        ``since`` is when the operation that returned the offset began (a publish: before it
        was sent). Concurrent publishes to one partition may come back out of order, so a lower
        offset counts only for an operation begun after the higher one was seen.
        """
        key = (view, topic, partition)
        now = self._clock()
        began = now if since is None else since
        before = self._seen.get(key)
        if before is None or offset >= before[0]:
            self._seen[key] = (offset, now)
            return False
        if began <= before[1]:
            return False  # in flight together with the higher one: not evidence
        # the log restarted: every offset seen so far belongs to the old one
        self._seen.clear()
        self._seen[key] = (offset, now)
        self.reset(f"{view}: {topic}[{partition}] at offset {offset}, after {before[0]}")
        return True

    def reset(self, reason: str) -> None:
        """Tell every listener that the broker lost its log (debounced)."""
        now = self._clock()
        if self._last is not None and now - self._last < self._debounce_s:
            log.info("kafka.log_reset_again", reason=reason)
            return
        self._last = now
        self.count += 1
        log.warning("kafka.log_reset", reason=reason, listeners=len(self._listeners))
        for listener in list(self._listeners):
            try:
                listener(reason)
            except Exception as exc:  # one listener's failure must not hide the reset
                log.error("kafka.log_reset_listener_failed", error=f"{type(exc).__name__}: {exc}")
