"""What the ``meshq`` commands share: the one-line error, what an error answer says, the
``--wait`` flag, and publishing a snapshot to Kafka with its report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

import click
import httpx

__all__ = [
    "CliError",
    "connect_timeout_option",
    "echo_outcome",
    "problem_detail",
    "publish",
    "wait_option",
]


class CliError(click.ClickException):
    """An error the user can fix; shown as one line, ``meshq: <message>`` (exit 1 unless a
    subclass says otherwise)."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"meshq: {self.format_message()}", err=True)


def problem_detail(response: httpx.Response, limit: int) -> Any:
    """What an error answer says: its problem ``detail`` (else ``title``), else the first
    ``limit`` characters of its text."""
    try:
        problem = response.json()
        return problem.get("detail") or problem.get("title")
    except ValueError:
        return response.text[:limit]


wait_option = click.option(
    "--wait/--no-wait", default=False, help="Return once graph-engine applied it."
)


connect_timeout_option = click.option(
    "--connect-timeout",
    type=click.FloatRange(min=0.5, max=600),
    default=10.0,
    show_default=True,
    help="Seconds the Kafka broker may take to answer; with --wait, also how long it may stay "
    "silent before the wait is given up.",
)


def publish(
    snapshot: Any,
    *,
    bootstrap: str,
    topic_prefix: str,
    wait: bool,
    timeout: float,
    source: str = "meshq-cli",
    show_progress: bool = False,
    connect_timeout: float = 10.0,
) -> Any:
    """Print the snapshot's counts and publish it (with a progress bar on stderr when asked);
    the broker's failures become one line (the Kafka client's own log stays quiet)."""
    from network_discovery.ingest import publish_snapshot
    from network_discovery.ingest.publish import BrokerUnavailable

    counts = snapshot.counts()
    click.echo(
        f"snapshot {snapshot.snapshot_id}: {counts['scope']} devices in scope, "
        + ", ".join(f"{v} {k}" for k, v in counts.items() if k != "scope" and v)
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet_kafka_client())
        progress = None
        if show_progress:
            progress = _advance(
                stack.enter_context(
                    click.progressbar(length=1, label="publishing", file=sys.stderr)
                )
            )
        try:
            return asyncio.run(
                publish_snapshot(
                    snapshot,
                    bootstrap=bootstrap,
                    topic_prefix=topic_prefix,
                    source=source,
                    wait=wait,
                    timeout=timeout,
                    max_message_bytes=int(
                        os.environ.get("MESHQ_INGEST_MAX_MESSAGE_BYTES", 900_000)
                    ),
                    progress=progress,
                    connect_timeout=connect_timeout,
                )
            )
        except BrokerUnavailable as exc:
            raise CliError(str(exc) if exc.connected else f"{exc}{_HOW_BROKER}") from exc
        except TimeoutError as exc:
            raise CliError(str(exc)) from exc
        except asyncio.CancelledError as exc:  # never a traceback: aiokafka cancels its own
            raise CliError(
                f"publishing to Kafka at {bootstrap} was interrupted; run the ingest again"
            ) from exc
        except Exception as exc:  # the broker is unreachable, mostly
            raise CliError(f"could not publish to Kafka at {bootstrap}: {exc}") from exc


_HOW_BROKER = " (is 'meshq serve' running, and is MESHQ_KAFKA_BOOTSTRAP right?)"


@contextlib.contextmanager
def _quiet_kafka_client() -> Iterator[None]:
    """The Kafka client logs every failed connection attempt; the command says it in one
    line instead."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _advance(bar: Any) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        bar.length = total
        bar.update(done - bar.pos)

    return progress


def echo_outcome(outcome: Any) -> None:
    """What graph-engine answered on a published snapshot (when it was waited for)."""
    if outcome.result is None:
        return
    data = outcome.result.data
    if outcome.rejected:
        raise CliError(f"snapshot {data.snapshot_id} was refused: {data.reason}")
    if data.empty:
        click.echo("applied: nothing changed")
        return
    for label, part in (
        ("added", data.added),
        ("removed", data.removed),
        ("updated", data.updated),
    ):
        if part:
            click.echo(f"{label}: " + ", ".join(f"{v} {k}" for k, v in sorted(part.items())))
