"""``meshq ingest``, ``meshq query`` and ``meshq snapshots``: talking to a running stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from network_discovery.cli._api import api
from network_discovery.cli._common import CliError, echo_outcome, submit, wait_option
from network_discovery.cli._render import render_answer
from network_discovery.cli._render import render_rows as _render
from network_discovery.parsers import ParseReport

__all__ = ["ingest", "query", "snapshots"]


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@wait_option
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait with --wait.")
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Submit what was read even when a file could not be read or a device yielded "
    "nothing (for batch jobs); without it such input is refused and nothing is submitted.",
)
def ingest(path: Path, wait: bool, timeout: float, allow_partial: bool) -> None:
    """Submit the snapshot at PATH (a native snapshot, JSON/YAML, or a CLI-output directory)
    to the platform through its REST API.

    For a directory, every problem is printed (file, line, why), then one line per device:
    outputs read and ignored, errors, and what it contributed. Exit 1, submitting nothing,
    when a file could not be read or a device yielded nothing, unless --allow-partial.
    """
    from network_discovery.ingest import IngestInputError, read_path

    try:
        snapshot, report = read_path(path)
    except IngestInputError as exc:
        raise CliError(str(exc)) from exc
    if report is not None:
        for issue in report.issues:
            click.echo(issue, err=True)
        if report.partial and not allow_partial:
            click.echo(report.device_table())
            raise CliError(
                _partial_message(report) + ": nothing was submitted (fix them, or "
                "pass --allow-partial to submit the rest)"
            )
    echo_outcome(submit(snapshot, wait=wait, timeout=timeout, show_progress=True))
    if report is not None:
        click.echo(report.device_table())
        if report.partial:
            click.echo(f"partial: {_partial_message(report)}", err=True)


def _partial_message(report: ParseReport) -> str:
    parts = []
    failed = sorted({i.file for i in report.errors})
    if failed:
        parts.append(f"{len(failed)} file(s) could not be read")
    empty = report.empty_devices
    if empty:
        shown = ", ".join(empty[:5]) + (", ..." if len(empty) > 5 else "")
        parts.append(f"{len(empty)} device(s) yielded nothing ({shown})")
    return "; ".join(parts)


def _parse_param(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise click.BadParameter(f"{text!r} is not k=v", param_hint="--param")
    key, value = text.split("=", 1)
    try:
        parsed: Any = json.loads(value)
        if not isinstance(parsed, (int, float, bool)) or value.strip() != value:
            parsed = value
    except ValueError:
        parsed = value
    return key.strip(), parsed


@click.command()
@click.argument("name")
@click.option("--param", "-p", "params", multiple=True, help="A parameter as k=v (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
def query(name: str, params: tuple[str, ...], fmt: str) -> None:
    """Run the catalogue query NAME (see 'meshq query list')."""
    body = dict(_parse_param(p) for p in params)
    with api() as client:
        if name == "list":
            for item in client.list_queries():
                click.echo(
                    f"{item['name']:<28} {item.get('category', ''):<11} {item.get('summary', '')}"
                )
            return
        result = client.run_query(name, body)
    rows = result.get("rows", [])
    click.echo(render_answer(rows, fmt, params=body))
    if fmt == "table" and result.get("next_cursor"):
        click.echo(f"(the first {len(rows)} of {result.get('row_count')} rows)", err=True)


@click.command()
@click.option("--diff", nargs=2, metavar="FROM TO", default=None, help="Compare two snapshots.")
@click.option(
    "--status",
    "status_of",
    metavar="ID",
    default=None,
    help="Where one submitted snapshot stands: accepted, applied (with what changed) or "
    "rejected (with why); exit 1 when rejected.",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0, max=3600),
    default=0.0,
    help="With --status: seconds to wait for it to be applied or rejected.",
)
def snapshots(diff: tuple[str, str] | None, status_of: str | None, wait: float) -> None:
    """List applied snapshots, show what changed between two of them, or follow one."""
    if status_of:
        with api() as client:
            if wait:
                try:
                    status = client.wait_for_snapshot(status_of, timeout=wait)
                except TimeoutError as exc:
                    raise CliError(str(exc)) from exc
            else:
                status = client.snapshot_status(status_of)
        click.echo(f"snapshot {status.snapshot_id}: {status.status}")
        echo_outcome(status)
        return
    with api() as client:
        if diff:
            click.echo(json.dumps(client.snapshot_diff(*diff), indent=2))
            return
        rows = client.list_snapshots()
    view = [
        {
            "snapshot": r["snapshot_id"],
            "source": r["source"],
            "collected_at": r["collected_at"],
            "devices": r["scope_devices"],
            "added": sum((r.get("added") or {}).values()),
            "removed": sum((r.get("removed") or {}).values()),
            "updated": sum((r.get("updated") or {}).values()),
        }
        for r in rows
    ]
    click.echo(_render(view, "table"))
