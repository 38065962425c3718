"""What the ``meshq`` commands share: the one-line error, the ``--wait`` flag, and submitting
a snapshot through the REST API with its report. (What an error answer of the REST API says is
read by the client, :class:`network_discovery.client.ApiError`.)"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import IO, Any

import click

__all__ = [
    "CliError",
    "echo_outcome",
    "submit",
    "wait_option",
]


class CliError(click.ClickException):
    """An error the user can fix; shown as one line, ``meshq: <message>`` (exit 1 unless a
    subclass says otherwise)."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"meshq: {self.format_message()}", err=True)


wait_option = click.option(
    "--wait/--no-wait", default=False, help="Return once graph-engine applied it."
)

#: Bytes of snapshot JSON handed to the client at a time (the progress bar's step).
_PIECE = 256 * 1024


def submit(snapshot: Any, *, wait: bool, timeout: float, show_progress: bool = False) -> Any:
    """Print the snapshot's counts, submit it through the REST API (``POST /snapshots``,
    gzip-compressed as it streams, with a progress bar on stderr when asked) and, with
    ``wait``, follow it until it is applied or refused. Returns its last status (or the
    receipt, without ``wait``)."""
    from network_discovery.cli._api import api
    from network_discovery.client import ClientError

    counts = snapshot.counts()
    click.echo(
        f"snapshot {snapshot.snapshot_id}: {counts['scope']} devices in scope, "
        + ", ".join(f"{v} {k}" for k, v in counts.items() if k != "scope" and v)
    )
    raw = snapshot.model_dump_json().encode()
    with api() as client:
        if show_progress:
            with click.progressbar(length=len(raw), label="submitting", file=sys.stderr) as bar:
                receipt = client.submit_snapshot(_pieces(raw, bar))
        else:
            receipt = client.submit_snapshot(raw)
        click.echo(
            f"submitted {len(raw)} bytes: snapshot {receipt.snapshot_id} accepted "
            f"(meshq snapshots --status {receipt.snapshot_id})"
        )
        if not wait:
            return receipt
        try:
            return client.wait_for_snapshot(receipt.snapshot_id, timeout=timeout)
        except TimeoutError as exc:
            raise CliError(str(exc)) from exc
        except ClientError as exc:  # accepted: it is applied whatever became of the wait
            raise CliError(
                f"snapshot {receipt.snapshot_id} was accepted, but following it failed "
                f"({exc}); 'meshq snapshots --status {receipt.snapshot_id}' tells where it "
                "stands"
            ) from exc


def _pieces(raw: bytes, bar: Any) -> Iterator[bytes]:
    for start in range(0, len(raw), _PIECE):
        piece = raw[start : start + _PIECE]
        yield piece
        bar.update(len(piece))


def echo_outcome(status: Any) -> None:
    """What graph-engine did with a submitted snapshot (when it was waited for): the counts
    of what changed, or the refusal as the command's error."""
    if getattr(status, "status", None) not in ("applied", "rejected"):
        return
    if status.status == "rejected":
        raise CliError(f"snapshot {status.snapshot_id} was refused: {status.reason}")
    result = status.result
    if result is None or result.empty:
        click.echo("applied: nothing changed")
        return
    for label, part in (
        ("added", result.added),
        ("removed", result.removed),
        ("updated", result.updated),
    ):
        if part:
            click.echo(f"{label}: " + ", ".join(f"{v} {k}" for k, v in sorted(part.items())))
