"""A run's results as a file: JSON, CSV, or a self-contained HTML report (which ``pdf.py``
prints to PDF).

The HTML report carries its charts as inline SVG and its style inline: it opens offline and
loads nothing. Every value from a device or a pack is escaped.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from html import escape
from typing import Any, Literal

from meshq_graph_engine.compliance.evaluate import RESULT_COLUMNS

__all__ = ["FORMATS", "export_run"]

Format = Literal["json", "csv", "html"]
FORMATS: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv",
    "html": "text/html",
    "pdf": "application/pdf",
}
_COLOURS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "not_applicable": "#9e9e9e",
    "unknown": "#f9a825",
}
_SEVERITIES = ("critical", "high", "medium", "low", "info")


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for row in rows:
        cells = []
        for column in RESULT_COLUMNS:
            value = row.get(column)
            text = json.dumps(value, separators=(",", ":")) if column == "evidence" else value
            text = "" if text is None else str(text)
            if text[:1] in ("=", "+", "-", "@"):  # never a formula in a spreadsheet
                text = "'" + text
            cells.append(text)
        writer.writerow(cells)
    return out.getvalue()


def _bars(title: str, counts: list[tuple[str, int, str]]) -> str:
    """A horizontal bar chart as SVG."""
    width, bar, gap, label = 520, 22, 8, 130
    most = max([c for _, c, _ in counts] + [1])
    height = 30 + len(counts) * (bar + gap)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (name, count, colour) in enumerate(counts):
        y = 26 + i * (bar + gap)
        length = int((width - label - 60) * count / most)
        parts.append(f'<text x="0" y="{y + 16}" font-size="12">{escape(name)}</text>')
        parts.append(f'<rect x="{label}" y="{y}" width="{length}" height="{bar}" fill="{colour}"/>')
        parts.append(f'<text x="{label + length + 6}" y="{y + 16}" font-size="12">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _html(run: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    status = Counter(r["status"] for r in rows)
    failures = [r for r in rows if r["status"] == "fail"]
    by_severity = Counter(r["severity"] for r in failures)
    by_device = Counter(r["device"] for r in failures).most_common(15)
    charts = [
        _bars(
            "Results by status",
            [(s, status.get(s, 0), _COLOURS[s]) for s in _COLOURS],
        ),
        _bars(
            "Failures by severity",
            [(s, by_severity.get(s, 0), "#c62828") for s in _SEVERITIES],
        ),
    ]
    if by_device:
        charts.append(
            _bars("Devices with most failures", [(d, n, "#6a1b9a") for d, n in by_device])
        )
    table = []
    for r in failures:
        evidence = "<br>".join(
            escape(
                f"line {e['line']}: {e.get('text') or ''}"
                if "line" in e and e.get("line") is not None
                else (
                    f"{e.get('why', '')}"
                    if "why" in e
                    else f"{e.get('fact')} = {json.dumps(e.get('value'))}"
                )
            )
            for e in r.get("evidence") or []
        )
        table.append(
            "<tr>"
            + "".join(
                f"<td>{escape(str(r.get(c) or ''))}</td>"
                for c in ("device", "rule", "title", "severity")
            )
            + f"<td>{evidence}</td><td><pre>{escape(r.get('remediation') or '')}</pre></td></tr>"
        )
    meta = escape(
        f"Run {run.get('run_id')} ({run.get('trigger')}), {run.get('finished_at')}: "
        f"{run.get('devices')} devices, {len(rows)} results"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Compliance report</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:12px}"
        "pre{margin:0;white-space:pre-wrap}.charts svg{margin:0 2em 1em 0}"
        "</style></head><body>"
        f"<h1>Compliance report</h1><p>{meta}</p>"
        f'<div class="charts">{"".join(charts)}</div>'
        f"<h2>Failures ({len(failures)})</h2>"
        "<table><tr><th>Device</th><th>Rule</th><th>Title</th><th>Severity</th>"
        "<th>Evidence</th><th>Remediation</th></tr>" + "".join(table) + "</table></body></html>"
    )


def export_run(run: dict[str, Any], rows: list[dict[str, Any]], fmt: Format) -> str:
    """The run and its rows as text in ``fmt``."""
    if fmt == "json":
        meta = {k: v for k, v in run.items() if k not in ("fingerprints", "packs_digest")}
        return json.dumps({"run": meta, "results": rows}, indent=1, default=str)
    if fmt == "csv":
        return _csv(rows)
    return _html(run, rows)
