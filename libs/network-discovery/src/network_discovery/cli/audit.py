"""``meshq audit verify|export`` and ``meshq soar replay``, through the REST API.

The gateway passes them on to the audit service and the SOAR dispatcher (``GET /audit/verify``,
``GET /audit/export``, ``POST /soar/replay``), so they need what every ``meshq`` command needs:
the REST API (``--api-url`` / ``MESHOPTIXIQ_API_URL``, else the stack ``meshq serve`` runs
here) and a key the gateway lets do this (``--api-key`` / ``MESHOPTIXIQ_API_KEY``: the admin
key, or under RBAC one whose role grants ``execute`` on ``audit_log`` / ``soar_replay``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from network_discovery.cli._api import api

__all__ = ["audit", "install", "soar"]

#: A verify of a long chain, or a replay of many webhooks, takes a while.
TIMEOUT = 300.0


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option(
    "--from",
    "start",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="First record to check (the one before it anchors the walk).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the service's answer as JSON.")
def verify(start: int, as_json: bool) -> None:
    """Walk the hash chain; exit 1 naming the first changed, deleted, inserted or reordered
    record."""
    with api(timeout=TIMEOUT) as client:
        result = client.audit_verify(start)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    brk = result.get("break")
    if brk is None:
        if not as_json:
            points = result.get("checkpoints") or 0
            against = f", against {points} signed checkpoint(s)" if points else ""
            click.echo(
                f"audit log intact: {result['checked']} record(s) from {result['from']} "
                f"to {result['last_seq']} verified{against}"
            )
        return
    click.echo(
        f"meshq: audit log broken at record {brk['seq']}: {brk['kind']} ({brk['reason']})",
        err=True,
    )
    sys.exit(1)


@audit.command("export")
@click.option("--since", default=None, help="RFC 3339 time, e.g. 2026-03-06T00:00:00Z.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--output", "-o", type=click.File("wb"), default="-", help="File (default stdout).")
def export(since: str | None, fmt: str, output: Any) -> None:
    """Write audit records (all, or those at or after --since) as JSON lines or CSV."""
    with api(timeout=TIMEOUT) as client:
        for chunk in client.audit_export(since, "csv" if fmt == "csv" else "jsonl"):
            output.write(chunk)


@click.group()
def soar() -> None:
    """SOAR webhooks."""


@soar.command("replay")
def replay() -> None:
    """Send every dead-lettered webhook again (once each; failures are dead-lettered again)."""
    with api(timeout=TIMEOUT) as client:
        counts = client.soar_replay()
    click.echo(
        f"replayed {counts.replayed}: {counts.delivered} delivered, "
        f"{counts.dead_lettered} dead-lettered again, {counts.skipped} skipped"
    )
    if counts.dead_lettered:
        sys.exit(1)


def install(cli: click.Group) -> None:
    """Register ``meshq audit`` and ``meshq soar``."""
    cli.add_command(audit)
    cli.add_command(soar)
