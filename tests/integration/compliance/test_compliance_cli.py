"""``meshq compliance`` against a running gateway and graph engine on the demo network: a run
after the snapshot was applied, a run on demand, its results, a diff and a report, the same
rows as the REST API answers."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner
from network_discovery.cli import cli
from pypdf import PdfReader
from support.gateway_cli import meshq, query_rows

pytestmark = pytest.mark.integration


def _api(gw: Any, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return query_rows(gw, name, params, limit=10_000, timeout=120)


async def _after_snapshot_runs(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM compliance_runs WHERE trigger LIKE 'snapshot:%'"
        )
        return count
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


async def test_a_run_follows_the_applied_snapshot(compliance_gateway: Any, stack: Any) -> None:
    deadline = time.monotonic() + 60
    while await _after_snapshot_runs(stack.postgres_url) == 0:
        assert time.monotonic() < deadline, "no compliance run after the demo snapshot"
        time.sleep(0.5)


def test_run_results_diff_and_export(compliance_gateway: Any, tmp_path: Path) -> None:
    gw = compliance_gateway
    (run,) = json.loads(meshq(gw, "compliance", "run", "--format", "json"))
    assert run["devices"] > 0 and run["trigger"] == "on_demand"
    total = sum(run[k] for k in ("passed", "failed", "not_applicable", "unknown"))
    rows = json.loads(
        meshq(gw, "compliance", "results", "--run", run["run_id"], "--format", "json")
    )
    assert len(rows) == total
    assert rows == _api(gw, "meshq_compliance_results", {"run_id": run["run_id"]})
    failing = json.loads(
        meshq(
            gw,
            "compliance",
            "results",
            "--run",
            run["run_id"],
            "--status",
            "fail",
            "--format",
            "json",
        )
    )
    assert len(failing) == run["failed"] and {r["status"] for r in failing} <= {"fail"}
    table = meshq(gw, "compliance", "results", "--run", run["run_id"], "--status", "fail")
    if failing:
        assert failing[0]["rule"] in table
    same = meshq(gw, "compliance", "diff", run["run_id"], run["run_id"], "--format", "json")
    assert json.loads(same) == []
    report = tmp_path / "report.html"
    meshq(gw, "compliance", "export", "--run", run["run_id"], "--format", "html", "-o", str(report))
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and run["run_id"] in page
    if shutil.which("chromium") is not None:  # graph-engine prints it with the same chromium
        pdf = tmp_path / "report.pdf"
        meshq(gw, "compliance", "export", "--run", run["run_id"], "--format", "pdf", "-o", str(pdf))
        text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
        assert "Compliance report" in text and run["run_id"] in text


def test_an_unknown_run_is_one_line_and_non_zero(compliance_gateway: Any) -> None:
    gw = compliance_gateway
    result = CliRunner().invoke(
        cli,
        [
            "--api-url",
            gw.url,
            "--api-key",
            gw.key,
            "compliance",
            "results",
            "--run",
            "r-20200101T000000Z-000000",
        ],
    )
    assert result.exit_code != 0
    assert "r-20200101T000000Z-000000" in result.output
