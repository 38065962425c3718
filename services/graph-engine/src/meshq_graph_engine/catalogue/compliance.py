"""Compliance: rule packs run over every collected device (its configuration, its facts, and
what the graph says about it), the results of each run, and a run as a report.

Runs are kept (``compliance.history``): PostgreSQL where ``MESHQ_POSTGRES_URL`` is set, else
the state directory. Where the process keeps no history (a query-only replica without
PostgreSQL) every query answers 503 saying so.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any, Literal

from pydantic import Field

from meshq_graph_engine.catalogue._common import DeviceFilter
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, QueryError, Row
from meshq_graph_engine.compliance.export import FORMATS, export_run
from meshq_graph_engine.compliance.packs import PackError
from meshq_graph_engine.compliance.pdf import PdfError, PdfUnavailable, render_pdf
from meshq_graph_engine.compliance.service import ComplianceService, diff_rows

__all__ = ["CATEGORY", "FEATURE", "QUERIES"]

FEATURE = "compliance_reporting"
CATEGORY = "Compliance"
SOURCE = "compliance"
_NOT_CONFIGURED = (
    "compliance runs are kept by the graph-engine writer (or any graph-engine with "
    "MESHQ_POSTGRES_URL set); see docs/compliance.md"
)
_RUN_ID = r"^(|r-\d{8}T\d{6}(\d{6})?Z-[0-9a-f]{6})$"
RunId = Field(
    "",
    max_length=40,
    pattern=_RUN_ID,
    description="A run id as meshq_compliance_run returns it; empty for the newest run.",
)
Status = Literal["", "pass", "fail", "not_applicable", "unknown"]


#: The longest a run query waits for its run (a gateway stops waiting at 30 s).
MAX_WAIT_S = 25


class RunParams(Params):
    wait: int = Field(
        20,
        ge=0,
        le=MAX_WAIT_S,
        description="Seconds to wait for the run to finish; past them the answer is the run's "
        "id with status 'running' (the run goes on; read its results by that id when done).",
    )


class ResultsParams(Params):
    run_id: str = RunId
    device: DeviceFilter = ""
    rule: str = Field(
        "",
        max_length=80,
        pattern=r"^[a-z0-9._-]*$",
        description="Only this rule (its id); empty for every rule.",
    )
    pack: str = Field(
        "",
        max_length=64,
        pattern=r"^[a-z0-9._-]*$",
        description="Only the rules of this pack; empty for every pack.",
    )
    status: Status = Field(
        "", description="Only results of this status (pass, fail, not_applicable, unknown)."
    )
    compare_to: str = Field(
        "",
        max_length=40,
        pattern=_RUN_ID,
        description="An earlier run: answer only the results whose status differs from it, "
        "each with its previous status (a result the run no longer has is 'absent').",
    )


class ExportParams(Params):
    run_id: str = RunId
    format: Literal["json", "csv", "html", "pdf"] = Field(
        "json",
        description="json, csv, html (a report with its charts inline, offline), or pdf (that "
        "report printed by Chromium; content in base64).",
    )
    device: DeviceFilter = ""
    status: Status = Field("", description="Only results of this status; empty for all.")


class RunRow(Row):
    run_id: str
    status: str = Field(
        description="done, or running: the run goes on, its results are read by run_id once "
        "it is done (the counts are then 0)."
    )
    started_at: str
    finished_at: str | None = Field(description="Null while the run is running.")
    trigger: str = Field(description="on_demand, or snapshot:<id> for a run after a snapshot.")
    packs: list[str]
    devices: int = Field(description="Collected devices checked.")
    evaluated: int = Field(description="Devices evaluated anew (their inputs changed).")
    reused: int = Field(description="Devices whose results were kept from the previous run.")
    passed: int
    failed: int
    not_applicable: int
    unknown: int


class ResultRow(Row):
    run_id: str
    device: str
    pack: str
    rule: str
    title: str
    severity: str
    source: str = Field(description="config, facts or graph.")
    status: str = Field(description="pass, fail, not_applicable, unknown (absent in a diff).")
    previous_status: str | None = Field(
        description="With compare_to: the status in that run (null: new); else null."
    )
    message: str
    evidence: list[dict[str, Any]] = Field(
        description="Configuration lines ({line, text, why}) or facts ({fact, value, details})."
    )
    remediation: str = Field(description="A configuration snippet that fixes a failure.")


class ExportRow(Row):
    run_id: str
    format: str
    media_type: str
    filename: str
    content: str
    encoding: str = Field(description="utf-8: content is the text itself; base64: the bytes (pdf).")


def _service(ctx: QueryContext) -> ComplianceService:
    if ctx.compliance is None:
        raise QueryError(503, "Compliance not configured", _NOT_CONFIGURED)
    service: ComplianceService = ctx.compliance
    return service


def _not_kept(service: ComplianceService, run_id: str) -> QueryError:
    """Why a run is not in the history: still running, failed, or not known."""
    running = service.in_progress(run_id)
    if running is not None:
        return QueryError(
            409,
            "Run in progress",
            f"compliance run {run_id!r} (started {running['started_at']}) is still running; "
            "its results can be read once it is done",
        )
    failure = service.failure(run_id)
    if failure is not None:
        return QueryError(422, "Run failed", f"compliance run {run_id!r} failed: {failure}")
    return QueryError(404, "Unknown run", f"no compliance run {run_id!r} is kept")


async def _resolve(service: ComplianceService, run_id: str) -> dict[str, Any] | None:
    if run_id:
        found = await service.history.run(run_id)
        if found is None:
            raise _not_kept(service, run_id)
        return found
    latest = await service.history.runs(1)
    return await service.history.run(latest[0]["run_id"]) if latest else None


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    summary = run["summary"]
    return {
        "run_id": run["run_id"],
        "status": "done",
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "trigger": run["trigger"],
        "packs": list(run["packs"]),
        "devices": run["devices"],
        "evaluated": run["evaluated"],
        "reused": run["reused"],
        "passed": summary.get("pass", 0),
        "failed": summary.get("fail", 0),
        "not_applicable": summary.get("not_applicable", 0),
        "unknown": summary.get("unknown", 0),
    }


async def _run(ctx: QueryContext, params: RunParams) -> list[dict[str, Any]]:
    service = _service(ctx)
    run_id, task = service.start("on_demand")
    # the run is a task of its own: it goes on when this query stops waiting for it
    done, _ = await asyncio.wait({task}, timeout=params.wait)
    if not done:
        running = service.in_progress(run_id) or {"started_at": "", "trigger": "on_demand"}
        return [
            {
                "run_id": run_id,
                "status": "running",
                "started_at": running["started_at"],
                "finished_at": None,
                "trigger": running["trigger"],
                "packs": [],
                "devices": 0,
                "evaluated": 0,
                "reused": 0,
                "passed": 0,
                "failed": 0,
                "not_applicable": 0,
                "unknown": 0,
            }
        ]
    try:
        run = task.result()
    except PackError as exc:
        raise QueryError(422, "Invalid compliance pack", str(exc)) from None
    return [_run_row(run)]


async def _results(ctx: QueryContext, params: ResultsParams) -> list[dict[str, Any]]:
    service = _service(ctx)
    run = await _resolve(service, params.run_id)
    if run is None:
        return []
    filters = {
        "device": params.device,
        "rule": params.rule,
        "pack": params.pack,
    }
    rows = await service.history.rows(run["run_id"], **filters)
    if params.compare_to:
        if await service.history.run(params.compare_to) is None:
            raise _not_kept(service, params.compare_to)
        before = await service.history.rows(params.compare_to, **filters)
        rows = diff_rows(before, rows)
    else:
        rows = [{**r, "previous_status": None} for r in rows]
    if params.status:
        rows = [r for r in rows if r["status"] == params.status]
    return [{"run_id": run["run_id"], **r} for r in rows]


async def _export(ctx: QueryContext, params: ExportParams) -> list[dict[str, Any]]:
    service = _service(ctx)
    run = await _resolve(service, params.run_id)
    if run is None:
        return []
    rows = await service.history.rows(run["run_id"], device=params.device, status=params.status)
    encoding = "utf-8"
    if params.format == "pdf":
        try:
            data = await render_pdf(export_run(run, rows, "html"))
        except PdfUnavailable as exc:
            raise QueryError(503, "PDF renderer not available", str(exc)) from None
        except PdfError as exc:
            raise QueryError(503, "PDF rendering failed", str(exc)) from None
        content = base64.b64encode(data).decode("ascii")
        encoding = "base64"
    else:
        content = export_run(run, rows, params.format)
    return [
        {
            "run_id": run["run_id"],
            "format": params.format,
            "media_type": FORMATS[params.format],
            "filename": f"compliance-{run['run_id']}.{params.format}",
            "content": content,
            "encoding": encoding,
        }
    ]


QUERIES = [
    Query(
        name="meshq_compliance_run",
        category=CATEGORY,
        summary="Run every compliance pack over every collected device now; the run's summary "
        "(or, past the wait, its id and status 'running').",
        params=RunParams,
        row=RunRow,
        feature=FEATURE,
        run=_run,
        source=SOURCE,
    ),
    Query(
        name="meshq_compliance_results",
        category=CATEGORY,
        summary="Results of a compliance run per device and rule, with evidence and "
        "remediation; or what changed since an earlier run.",
        params=ResultsParams,
        row=ResultRow,
        feature=FEATURE,
        run=_results,
        source=SOURCE,
    ),
    Query(
        name="meshq_compliance_export",
        category=CATEGORY,
        summary="A compliance run as a JSON, CSV, HTML (charts inline, no CDN) or PDF report.",
        params=ExportParams,
        row=ExportRow,
        feature=FEATURE,
        run=_export,
        source=SOURCE,
    ),
]
