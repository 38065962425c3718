"""What the ``meshq`` commands share: the one-line error, what an error answer says, the
``--wait`` flag, and publishing a snapshot to Kafka with its report."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from typing import IO, Any

import click
import httpx

__all__ = ["CliError", "echo_outcome", "problem_detail", "publish", "wait_option"]


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


def publish(
    snapshot: Any,
    *,
    bootstrap: str,
    topic_prefix: str,
    wait: bool,
    timeout: float,
    source: str = "meshq-cli",
    show_progress: bool = False,
) -> Any:
    """Print the snapshot's counts and publish it (with a progress bar on stderr when asked);
    the broker's failures become one line."""
    from network_discovery.ingest import publish_snapshot

    counts = snapshot.counts()
    click.echo(
        f"snapshot {snapshot.snapshot_id}: {counts['scope']} devices in scope, "
        + ", ".join(f"{v} {k}" for k, v in counts.items() if k != "scope" and v)
    )
    with contextlib.ExitStack() as stack:
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
                )
            )
        except TimeoutError as exc:
            raise CliError(str(exc)) from exc
        except Exception as exc:  # the broker is unreachable, mostly
            raise CliError(f"could not publish to Kafka at {bootstrap}: {exc}") from exc


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
