"""``meshq compliance``: run the compliance packs, read a run's results, compare two runs,
and export a run as a JSON, CSV, HTML or PDF report, through the REST API (the
``meshq_compliance_*`` queries; Enterprise plan, ``compliance_reporting``)."""

from __future__ import annotations

import base64
import binascii
import sys
from pathlib import Path
from typing import Any

import click

from network_discovery.cli._api import api
from network_discovery.cli._common import CliError
from network_discovery.cli._render import render_answer

__all__ = ["compliance"]

#: A run may evaluate every device: wait longer than for a graph question.
RUN_TIMEOUT_S = 600.0
#: The most result pages read for one answer.
MAX_PAGES = 1000
_STATUS = click.Choice(["pass", "fail", "not_applicable", "unknown"])
_FORMAT = click.Choice(["table", "json", "csv"])
#: Columns of the results table (the whole rows with --format json or csv).
_TABLE = ("device", "rule", "severity", "status", "previous_status", "message")


def _all_rows(client: Any, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        answer = client.run_query(name, params, cursor=cursor)
        rows.extend(answer.get("rows", []))
        cursor = answer.get("next_cursor")
        if not cursor:
            return rows
    raise CliError(f"more than {MAX_PAGES} pages of results: narrow them with --device/--rule")


def _show(rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "table":
        rows = [{k: r.get(k) for k in _TABLE} for r in rows]
    click.echo(render_answer(rows, fmt))


@click.group()
def compliance() -> None:
    """Configuration and topology compliance: runs, results, reports."""


@compliance.command("run")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
def run(fmt: str) -> None:
    """Run every pack over every collected device now; print the run's summary."""
    with api(timeout=RUN_TIMEOUT_S) as client:
        rows = client.run_query("meshq_compliance_run", {}).get("rows", [])
    click.echo(render_answer(rows, fmt))
    if rows and rows[0].get("status") == "running":
        run_id = rows[0]["run_id"]
        click.echo(
            f"run {run_id} is still running; once it is done: "
            f"meshq compliance results --run {run_id}",
            err=True,
        )
    elif rows and rows[0].get("failed"):
        click.echo(
            f"{rows[0]['failed']} failing result(s): meshq compliance results --status fail",
            err=True,
        )


@compliance.command("results")
@click.option("--run", "run_id", default="", help="A run id; the newest run if not given.")
@click.option("--device", default="", help="Only this device.")
@click.option("--rule", default="", help="Only this rule (its id).")
@click.option("--pack", default="", help="Only the rules of this pack.")
@click.option("--status", type=_STATUS, default=None, help="Only results of this status.")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
def results(run_id: str, device: str, rule: str, pack: str, status: str | None, fmt: str) -> None:
    """The results of a run, per device and rule, with evidence and remediation."""
    params = {"run_id": run_id, "device": device, "rule": rule, "pack": pack}
    if status:
        params["status"] = status
    with api() as client:
        rows = _all_rows(client, "meshq_compliance_results", params)
    _show(rows, fmt)


@compliance.command("diff")
@click.argument("before")
@click.argument("after")
@click.option("--device", default="", help="Only this device.")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
def diff(before: str, after: str, device: str, fmt: str) -> None:
    """The results whose status changed from run BEFORE to run AFTER."""
    params = {"run_id": after, "compare_to": before, "device": device}
    with api() as client:
        rows = _all_rows(client, "meshq_compliance_results", params)
    _show(rows, fmt)


@compliance.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "html", "pdf"]),
    default="html",
    show_default=True,
)
@click.option("--run", "run_id", default="", help="A run id; the newest run if not given.")
@click.option("--device", default="", help="Only this device.")
@click.option("--status", type=_STATUS, default=None, help="Only results of this status.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The file to write; standard output if not given.",
)
def export(fmt: str, run_id: str, device: str, status: str | None, output: Path | None) -> None:
    """A run as a report: JSON, CSV, HTML with its charts inline (opens offline), or that
    report as PDF (printed by Chromium on graph-engine's host)."""
    params: dict[str, Any] = {"format": fmt, "run_id": run_id, "device": device}
    if status:
        params["status"] = status
    with api() as client:
        rows = client.run_query("meshq_compliance_export", params).get("rows", [])
    if not rows:
        raise CliError("no compliance run yet: start one with 'meshq compliance run'")
    row = rows[0]
    if row.get("encoding") == "base64":
        try:
            data = base64.b64decode(str(row["content"]), validate=True)
        except binascii.Error as exc:
            raise CliError(f"the {fmt} report did not arrive whole: {exc}") from None
    else:
        data = str(row["content"]).encode("utf-8")
    if output is None:
        if fmt == "pdf" and sys.stdout.isatty():
            raise CliError("a PDF is not written to a terminal: give -o FILE or redirect")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output} ({row['filename']})", err=True)
