"""Staying in touch with the broker while a snapshot is published and its answer awaited:
connecting within a bound, stopping clients within a bound, and giving up on a broker that has
stopped answering (:class:`BrokerUnavailable`) instead of waiting out the caller's timeout."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError

__all__ = ["BrokerUnavailable", "connect", "start", "stop", "while_broker_answers"]

#: Seconds a client's stop may take (one whose broker is gone would otherwise linger).
_STOP_TIMEOUT = 5.0

T = TypeVar("T")


class BrokerUnavailable(RuntimeError):
    """The broker could not be reached, or stopped answering; the message says what became of
    the snapshot and what to do. ``connected``: it answered at first (and went away later)."""

    def __init__(self, message: str, *, connected: bool = False) -> None:
        super().__init__(message)
        self.connected = connected


async def start(client: AIOKafkaProducer | AIOKafkaConsumer) -> None:
    """Start a client; one that fails to connect is closed, not left to the collector."""
    try:
        await client.start()
    except BaseException:
        await stop(client)
        raise


async def connect(
    client: AIOKafkaProducer | AIOKafkaConsumer, bootstrap: str, connect_timeout: float
) -> None:
    """Start a client within ``connect_timeout`` seconds, else :class:`BrokerUnavailable`."""
    try:
        await asyncio.wait_for(start(client), timeout=connect_timeout)
    except TimeoutError:
        raise BrokerUnavailable(
            f"the Kafka broker at {bootstrap} did not answer within {connect_timeout:g} s"
        ) from None
    except KafkaConnectionError as exc:
        raise BrokerUnavailable(
            f"cannot reach the Kafka broker at {bootstrap}: nothing answers there"
        ) from exc
    except Exception as exc:
        raise BrokerUnavailable(
            f"cannot reach the Kafka broker at {bootstrap} ({_short(exc)})"
        ) from exc


async def stop(client: Any) -> None:
    """Stop a client within a bound, whatever state its broker is in. aiokafka may let the
    cancellation of its own background tasks escape ``stop()``: that is swallowed here, unless
    this task itself is being cancelled."""
    try:
        await asyncio.wait_for(client.stop(), timeout=_STOP_TIMEOUT)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
    except Exception:  # noqa: S110 - closing what is already broken
        pass


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


async def _broker_answers(bootstrap: str, options: dict[str, Any], timeout: float) -> bool:
    """Does the broker answer a metadata request within ``timeout`` seconds?"""
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000), **options
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout=timeout)
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), timeout=_STOP_TIMEOUT)
    return True


async def _watch_broker(bootstrap: str, options: dict[str, Any], connect_timeout: float) -> str:
    """Returns (with what it saw) once the broker has not answered for ``connect_timeout``."""
    step = max(0.2, min(2.0, connect_timeout / 3))
    silent_since: float | None = None
    while True:
        await asyncio.sleep(step)
        if await _broker_answers(bootstrap, options, timeout=max(step, 1.0)):
            silent_since = None
            continue
        now = time.monotonic()
        silent_since = silent_since if silent_since is not None else now - step
        if now - silent_since >= connect_timeout:
            return f"it has not answered for {now - silent_since:.0f} s"


async def while_broker_answers(
    work: Coroutine[Any, Any, T],
    *,
    bootstrap: str,
    options: dict[str, Any],
    connect_timeout: float,
    lost: str,
) -> T:
    """Run ``work`` while probing the broker; if the broker goes away first, cancel the work
    and raise :class:`BrokerUnavailable` with ``lost`` (what that means for the caller)."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_watch_broker(bootstrap, options, connect_timeout))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (watch, task):
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending
    if task.done() and not task.cancelled():
        return task.result()
    raise BrokerUnavailable(
        f"lost the Kafka broker at {bootstrap} ({watch.result()}): {lost}", connected=True
    )
