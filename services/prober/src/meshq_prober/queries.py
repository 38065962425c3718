"""The Synthetic queries, served like graph-engine's catalogue (``GET /internal/queries``,
``POST /internal/queries/{name}``); the gateway lists them with the rest and puts its license
gate (``synthetic_monitoring``), RBAC and audit in front.

- ``meshq_synthetic_probes``: the definitions and each probe's current state (its last run);
- ``meshq_synthetic_results``: per probe over a window: runs, success rate, p50/p95 of each
  phase over the successful runs, the latest error and the path it carried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from meshq_runtime.served_queries import answer, called
from pydantic import BaseModel, ConfigDict, Field

from meshq_prober.store import ProbeStore

__all__ = ["FEATURE", "QUERIES", "Context", "describe", "run"]

FEATURE = "synthetic_monitoring"
CATEGORY = "Synthetic"
MAX_LIMIT = 10_000
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProbesParams(_Params):
    kind: Literal["icmp", "tcp", "http", "dns"] | None = Field(None, description="Only this kind.")
    state: Literal["up", "down", "unknown"] | None = Field(
        None, description="Only probes in this state (down: the last run failed)."
    )
    name: str | None = Field(None, max_length=128, pattern=_NAME, description="Only this probe.")


class ResultsParams(_Params):
    probe: str | None = Field(
        None, max_length=128, pattern=_NAME, description="Only this probe (else all)."
    )
    window_s: int = Field(
        3600, ge=60, le=400 * 86_400, description="The window, in seconds back from now."
    )


class ProbeRow(BaseModel):
    name: str
    kind: Literal["icmp", "tcp", "http", "dns"]
    target: str
    source: str | None
    interval_s: float
    timeout_s: float
    origin: Literal["file", "api"]
    definition: dict[str, Any]
    state: Literal["up", "down", "unknown"] = Field(description="unknown: not run yet.")
    last_run_at: str | None
    last_success_at: str | None
    last_phases: dict[str, float] = Field(description="Milliseconds per phase of the last run.")
    last_status_code: int | None
    last_error: str | None
    failures: int = Field(description="Runs failed in a row up to the last one (0 when up).")
    path_verdict: str | None = Field(
        description="For a failing probe: what path_analysis says of its flow (allowed, "
        "denied, no_path; unknown: it "
        "could not be computed; allowed: the graph lets it through, the fault lies beyond)."
    )
    path_reason: str | None = Field(description="Why the flow stops (or why the path is unknown).")
    stopped_at_device: str | None = Field(
        description="The device where a route or a filter stops the failing probe's flow."
    )
    path: dict[str, Any] | None = Field(
        description="For a failing probe: path_analysis from its source to its target, and the "
        "hop where a route or filter stops it (status unknown when it could not be computed)."
    )


class PhaseStats(BaseModel):
    p50_ms: float
    p95_ms: float
    samples: int


class ResultRow(BaseModel):
    probe: str
    kind: str | None = Field(description="null: the probe was deleted since.")
    runs: int
    successes: int
    success_rate: float
    phases: dict[str, PhaseStats] = Field(
        description="dns, connect, tls, first_byte, rtt, query, total: over successful runs."
    )
    last_error: str | None
    last_error_at: str | None
    last_error_path: dict[str, Any] | None


@dataclass(frozen=True)
class Context:
    store: ProbeStore


@dataclass(frozen=True)
class SyntheticQuery:
    name: str
    summary: str
    params: type[BaseModel]
    row: type[BaseModel]


async def _probes(ctx: Context, p: Any, offset: int, limit: int) -> tuple[list[Any], int]:
    return await ctx.store.probes(
        kind=p.kind, name=p.name, state=p.state, limit=limit, offset=offset
    )


async def _results(ctx: Context, p: Any, offset: int, limit: int) -> tuple[list[Any], int]:
    since = datetime.now(UTC) - timedelta(seconds=p.window_s)
    return await ctx.store.window(since=since, name=p.probe, limit=limit, offset=offset)


QUERIES: dict[str, SyntheticQuery] = {
    q.name: q
    for q in (
        SyntheticQuery(
            "meshq_synthetic_probes",
            "Synthetic probes (ICMP, TCP, HTTP, DNS): each definition and its state from the "
            "last run, with the path that explains a failure.",
            ProbesParams,
            ProbeRow,
        ),
        SyntheticQuery(
            "meshq_synthetic_results",
            "Synthetic probe results over a window: success rate, p50/p95 latency of each "
            "phase, and the latest error.",
            ResultsParams,
            ResultRow,
        ),
    )
}
_RUN = {"meshq_synthetic_probes": _probes, "meshq_synthetic_results": _results}


def describe(query: SyntheticQuery) -> dict[str, Any]:
    """The listing entry, in the shape of graph-engine's catalogue."""
    return {
        "name": query.name,
        "category": CATEGORY,
        "summary": query.summary,
        "feature": FEATURE,
        "community": False,
        "writes": False,
        "cacheable": False,  # the answer follows the probes, not the graph's revision
        "parameters": query.params.model_json_schema(),
        "row_schema": query.row.model_json_schema(),
    }


async def run(
    ctx: Context, name: str, raw: dict[str, Any], *, limit: int | None, offset: int
) -> dict[str, Any]:
    _, params = called(QUERIES, name, raw)
    size = min(limit or MAX_LIMIT, MAX_LIMIT)
    return await answer(name, _RUN[name](ctx, params, offset, size), offset=offset, limit=size)
