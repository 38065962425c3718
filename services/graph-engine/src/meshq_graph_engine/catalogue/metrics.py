"""Metrics: interface rates over a window, and how loaded every link of the graph is.

The rates live in PostgreSQL (``meshq_runtime.metrics_store``), written by the metrics
collector (``meshq metrics run``); the links come from the graph. A window is read from the
raw rates up to 6 hours, from the 5-minute rollups up to 7 days, from the hourly rollups up to
90 days and from the daily ones beyond, or from a coarser tier when the finer one no longer
holds the window's start (or the resolution asked for); every row says which. A rate nobody
measured is null (unknown), never 0. Without a metrics store (no ``MESHQ_POSTGRES_URL``) both
queries answer 503 saying what to configure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from meshq_runtime.metrics_store import MEASURES, MetricsStore, Resolution, TooManyRows
from pydantic import AfterValidator, Field, model_validator

from meshq_graph_engine.catalogue._common import DeviceName, SiteFilter, interface_or_any
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, QueryError, Row

__all__ = ["FEATURE", "MAX_POINTS", "MAX_WINDOW", "QUERIES"]

FEATURE = "server_metrics"
#: The longest window a query reads (the daily rollups' default retention).
MAX_WINDOW = timedelta(days=1830)
#: The most rows one interface_metrics series answers (a summary is one row per interface).
MAX_POINTS = 20_000
#: The most links link_utilization ranks.
MAX_TOP = 10_000

_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = timedelta(weeks=1)
_WINDOW = re.compile(r"^(\d{1,6})([mhdw])$")
_WIDTH: dict[Resolution, timedelta] = {
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}
_FLAGS = (
    (1, "wrapped"),
    (2, "reset"),
    (4, "gap"),
    (8, "ambiguous"),
    (16, "counter32"),
    (32, "invalid"),
)
_OPER_STATUS = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}
_NOT_CONFIGURED = (
    "interface metrics are kept in PostgreSQL: give graph-engine MESHQ_POSTGRES_URL (meshq serve "
    "does) and collect counters with `meshq metrics run` (see docs/metrics.md)"
)


def parse_window(text: str) -> timedelta:
    """``30m``, ``6h``, ``7d``, ``2w`` -> a duration of at least a minute and at most
    :data:`MAX_WINDOW`."""
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"invalid window {text[:20]!r}: a number and a unit, e.g. 15m, 1h, 7d, 2w")
    span = int(match[1]) * _UNITS[match[2]]
    if span > MAX_WINDOW:
        raise ValueError(f"window {text!r} is longer than {MAX_WINDOW.days} days")
    if span <= timedelta(0):
        raise ValueError("window must be at least 1m")
    return span


def _window(text: str) -> str:
    parse_window(text)
    return text


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date-time; one without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"invalid time {text[:40]!r}: ISO 8601, e.g. 2026-03-02T10:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _moment_or_none(text: str) -> str:
    if text:
        parse_moment(text)
    return text


WindowParam = Annotated[
    str,
    Field(
        default="1h",
        max_length=8,
        description="How far back from now (or from `until`): a number and a unit, m, h, d or "
        f"w (15m, 1h, 24h, 7d); at most {MAX_WINDOW.days} days. Ignored when `since` is given.",
        examples=["1h"],
    ),
    AfterValidator(_window),
]
MomentParam = Annotated[
    str,
    Field(
        default="",
        max_length=40,
        description="ISO 8601 date-time (UTC when it has no offset); empty: not bounded this way.",
        examples=["2026-03-02T10:00:00Z"],
    ),
    AfterValidator(_moment_or_none),
]
InterfaceFilter = Annotated[
    str,
    Field(
        default="",
        max_length=128,
        description="Only this interface (any vendor spelling, matched in canonical form); "
        "empty for every interface of the device.",
        examples=["Ethernet1"],
    ),
    AfterValidator(interface_or_any),
]
RoleFilter = Annotated[
    str,
    Field(
        default="",
        max_length=64,
        pattern=r"^[\w .:/@-]*$",
        description="Only links with a device of this role at either end (exact match); empty "
        "for every role.",
        examples=["core"],
    ),
]
ResolutionParam = Literal["auto", "raw", "5m", "1h", "1d"]


class _WindowParams(Params):
    window: WindowParam
    since: MomentParam = Field(
        "",
        max_length=40,
        description="Start of the window (ISO 8601, UTC without an offset); with it the window "
        "runs from here to `until` (default now) and `window` is not used.",
    )
    until: MomentParam = Field(
        "",
        max_length=40,
        description="End of the window (ISO 8601, UTC without an offset); empty: now.",
    )
    resolution: ResolutionParam = Field(
        "auto",
        description="Which rates to read: raw (every poll), 5m, 1h or 1d rollups; auto picks raw "
        "up to 6 h, 5m up to 7 d, 1h up to 90 d, 1d beyond, and a coarser tier when the finer "
        "one's retention no longer holds the start of the window.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> _WindowParams:
        if self.since and self.until:
            span = parse_moment(self.until) - parse_moment(self.since)
            if span <= timedelta(0):
                raise ValueError("until must come after since")
            if span > MAX_WINDOW:
                raise ValueError(f"since to until is longer than {MAX_WINDOW.days} days")
        return self

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The window ``[since, until)`` this asks for, as of ``now``."""
        until = parse_moment(self.until) if self.until else now
        since = parse_moment(self.since) if self.since else until - parse_window(self.window)
        if until <= since:
            raise QueryError(
                422,
                "Invalid parameters",
                "since: must come before until (default now)",
                [{"field": "since", "message": "must come before until (default now)"}],
            )
        if until - since > MAX_WINDOW:
            message = f"the window from since to now is longer than {MAX_WINDOW.days} days"
            errors = [{"field": "since", "message": message}]
            raise QueryError(422, "Invalid parameters", f"since: {message}", errors)
        return since, until

    def chosen(self, store: MetricsStore, since: datetime, until: datetime) -> Resolution:
        if self.resolution == "auto":
            return store.resolution_for(since, until)
        return self.resolution


class InterfaceMetricsParams(_WindowParams):
    device: DeviceName
    interface: InterfaceFilter
    summary: bool = Field(
        False,
        description="One row per interface over the whole window (time-weighted means, maxima, "
        "status changes summed) instead of one row per poll interval or rollup bucket.",
    )


class LinkUtilizationParams(_WindowParams):
    window: WindowParam = Field(
        "15m",
        max_length=8,
        description="How far back from now (or from `until`): a number and a unit, m, h, d or "
        f"w; at most {MAX_WINDOW.days} days. Ignored when `since` is given.",
    )
    top: int = Field(
        50,
        ge=1,
        le=MAX_TOP,
        description=f"The N most utilised links (1 to {MAX_TOP}); links with no metrics come "
        "after every measured one.",
    )
    site: SiteFilter
    role: RoleFilter


_Rate = Annotated[float | None, Field(description="Per second; null: not measured (unknown).")]
_Pct = Annotated[float | None, Field(description="Percent of the speed; null: unknown.")]
_Flag = Literal["wrapped", "reset", "gap", "ambiguous", "counter32", "invalid"]


class InterfaceMetricsRow(Row):
    """One interface over one stretch of time: a poll interval (raw), a rollup bucket, or the
    whole window (summary)."""

    device: str
    interface: str
    start: str = Field(description="Start of what the row covers (ISO 8601, UTC).")
    end: str = Field(description="End of what the row covers (ISO 8601, UTC).")
    resolution: Literal["raw", "5m", "1h", "1d"] = Field(
        description="Where the values come from: the raw rates of every poll, or the 5-minute, "
        "hourly or daily rollups."
    )
    covered_s: float = Field(description="Seconds of the row that rates were measured over.")
    samples: int = Field(description="Poll intervals the row's values are made of.")
    in_bps: _Rate
    out_bps: _Rate
    in_bps_max: _Rate
    out_bps_max: _Rate
    in_pps: _Rate
    out_pps: _Rate
    in_errors_ps: _Rate
    out_errors_ps: _Rate
    in_discards_ps: _Rate
    out_discards_ps: _Rate
    speed_bps: float | None = Field(description="The interface's speed in bit/s; null: unknown.")
    in_util_pct: _Pct
    out_util_pct: _Pct
    in_util_max_pct: _Pct
    out_util_max_pct: _Pct
    oper_status: (
        Literal["up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"]
        | None
    ) = Field(description="IF-MIB ifOperStatus at the end of a raw interval; null otherwise.")
    status_changes: int = Field(
        ge=0,
        description="Operational status changes seen (a lower bound: flaps between polls "
        "that ifLastChange does not show are missed).",
    )
    flags: list[_Flag] = Field(
        description="What the counters did: wrapped, reset (no rate), gap (missed polls: an "
        "average over the gap), ambiguous (a narrow counter may have wrapped more than once: no "
        "rate), counter32 (rates from 32-bit octet counters), invalid (no forward interval)."
    )


class LinkUtilizationRow(Row):
    """One link of the graph, with what each end measured over the window."""

    a_device: str
    a_interface: str
    b_device: str
    b_interface: str
    a_role: str | None
    b_role: str | None
    a_site: str | None
    b_site: str | None
    speed_bps: float | None = Field(
        description="The link's speed: the lower of the speeds its ends report; null: unknown."
    )
    a_in_bps: _Rate
    a_out_bps: _Rate
    b_in_bps: _Rate
    b_out_bps: _Rate
    a_to_b_bps: _Rate
    b_to_a_bps: _Rate
    a_to_b_util_pct: _Pct
    b_to_a_util_pct: _Pct
    busier: Literal["a_to_b", "b_to_a"] | None = Field(
        description="The direction carrying more; null when neither direction was measured."
    )
    util_pct: _Pct
    peak_util_pct: _Pct
    measured: Literal["both", "a", "b", "none"] = Field(
        description="Which ends had metrics in the window."
    )
    resolution: Literal["raw", "5m", "1h", "1d"]


def _store(ctx: QueryContext) -> MetricsStore:
    if ctx.metrics is None:
        raise QueryError(503, "Metrics not configured", _NOT_CONFIGURED)
    return ctx.metrics


def _unavailable(exc: BaseException) -> QueryError:
    return QueryError(
        503,
        "Metrics store unavailable",
        f"the metrics store (PostgreSQL) did not answer: {type(exc).__name__}; try again, or "
        "check MESHQ_POSTGRES_URL and the database",
    )


#: Failures of the store's connection, not of the request.
_DOWN = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.CannotConnectNowError,
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _flags(bits: int | None) -> list[str]:
    return [name for bit, name in _FLAGS if (bits or 0) & bit]


def _status(value: int | None) -> str | None:
    return None if value is None else _OPER_STATUS.get(int(value), "unknown")


def _point(row: dict[str, Any], resolution: Resolution) -> dict[str, Any]:
    """A stored rate or rollup bucket as an answer row."""
    if resolution == "raw":
        end = row["ts"]
        start = end - timedelta(seconds=row["interval_s"])
        values = {m: row[m] for m in MEASURES}
        peaks = {"in_bps": row["in_bps"], "out_bps": row["out_bps"]}
        util = {"in": row["in_util_pct"], "out": row["out_util_pct"]}
        covered, samples, status = row["interval_s"], 1, _status(row["oper_status"])
    else:
        start = row["bucket"]
        end = start + _WIDTH[resolution]
        values = {m: row[f"{m}_avg"] for m in MEASURES}
        peaks = {"in_bps": row["in_bps_max"], "out_bps": row["out_bps_max"]}
        util = {"in": row["in_util_pct_max"], "out": row["out_util_pct_max"]}
        covered, samples, status = row["covered_s"], row["samples"], None
    return {
        "device": row["device"],
        "interface": row["interface"],
        "start": _iso(start),
        "end": _iso(end),
        "resolution": resolution,
        "covered_s": float(covered),
        "samples": int(samples),
        **values,
        "in_bps_max": peaks["in_bps"],
        "out_bps_max": peaks["out_bps"],
        "speed_bps": row["speed_bps"],
        "in_util_max_pct": util["in"],
        "out_util_max_pct": util["out"],
        "oper_status": status,
        "status_changes": int(row["status_changes"]),
        "flags": _flags(row["flags"]),
    }


def _summary(
    row: dict[str, Any], resolution: Resolution, since: datetime, until: datetime
) -> dict[str, Any]:
    return {
        "device": row["device"],
        "interface": row["interface"],
        "start": _iso(since),
        "end": _iso(until),
        "resolution": resolution,
        "covered_s": float(row["covered_s"] or 0.0),
        "samples": int(row["samples"] or 0),
        **{m: row[m] for m in MEASURES},
        "in_bps_max": row["in_bps_max"],
        "out_bps_max": row["out_bps_max"],
        "speed_bps": row["speed_bps"],
        "in_util_max_pct": row["in_util_pct_max"],
        "out_util_max_pct": row["out_util_pct_max"],
        "oper_status": None,
        "status_changes": int(row["status_changes"] or 0),
        "flags": _flags(row["flags"]),
    }


async def _interface_metrics(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    store = _store(ctx)
    since, until = params.bounds(datetime.now(UTC))
    resolution = params.chosen(store, since, until)
    interface = params.interface or None
    try:
        await store.ensure_schema()
        if params.summary:
            _, found = await store.summarise(
                since, until, device=params.device, interface=interface, resolution=resolution
            )
            rows = [_summary(found[key], resolution, since, until) for key in sorted(found)]
        else:
            _, stored = await store.read_rates(
                params.device,
                since,
                until,
                interface=interface,
                resolution=resolution,
                max_rows=MAX_POINTS,
            )
            rows = [_point(row, resolution) for row in stored]
    except TooManyRows:
        message = (
            f"the window holds more than {MAX_POINTS} points: name an interface, shorten the "
            "window, choose a coarser resolution, or ask summary=true"
        )
        raise QueryError(
            422, "Answer too large", message, [{"field": "window", "message": message}]
        ) from None
    except _DOWN as exc:
        raise _unavailable(exc) from None
    return rows


INTERFACE_METRICS = Query(
    name="interface_metrics",
    category="Metrics",
    summary="Rates of a device's interfaces over a window: bit and packet rates, errors, "
    "discards, utilisation of the interface's speed and status changes, per poll interval or "
    "rollup bucket (or summed up per interface).",
    params=InterfaceMetricsParams,
    row=InterfaceMetricsRow,
    feature=FEATURE,
    run=_interface_metrics,
    source="metrics",
)


_LINKS = (
    "MATCH (a:Device)-[:HAS_INTERFACE]->(ia:Interface)-[:CONNECTED_TO]->(ib:Interface)"
    "<-[:HAS_INTERFACE]-(b:Device) "
    "WHERE ($site = '' OR a.site = $site OR b.site = $site) "
    "AND ($role = '' OR a.role = $role OR b.role = $role) "
    "RETURN a.id AS a_device, ia.name AS a_interface, b.id AS b_device, ib.name AS b_interface, "
    "a.role AS a_role, b.role AS b_role, a.site AS a_site, b.site AS b_site"
)


def _larger(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _smaller(*values: float | None) -> float | None:
    known = [v for v in values if v is not None and v > 0]
    return min(known) if known else None


def _pct(bps: float | None, speed: float | None) -> float | None:
    return None if bps is None or not speed else bps / speed * 100.0


def _link(
    link: dict[str, Any],
    a: dict[str, Any] | None,
    b: dict[str, Any] | None,
    resolution: Resolution,
) -> dict[str, Any]:
    def get(end: dict[str, Any] | None, column: str) -> Any:
        return None if end is None else end[column]

    speed = _smaller(get(a, "speed_bps"), get(b, "speed_bps"))
    # both ends count the same bits: the larger reading (a missed poll lowers the other)
    a_to_b = _larger(get(a, "out_bps"), get(b, "in_bps"))
    b_to_a = _larger(get(b, "out_bps"), get(a, "in_bps"))
    ab_pct, ba_pct = _pct(a_to_b, speed), _pct(b_to_a, speed)
    busier: str | None = None
    if a_to_b is not None or b_to_a is not None:
        busier = "a_to_b" if (a_to_b or 0.0) >= (b_to_a or 0.0) else "b_to_a"
    util = ab_pct if busier == "a_to_b" else ba_pct if busier == "b_to_a" else None
    peak = _larger(
        get(a, "in_util_pct_max"),
        get(a, "out_util_pct_max"),
        get(b, "in_util_pct_max"),
        get(b, "out_util_pct_max"),
    )
    measured = {(True, True): "both", (True, False): "a", (False, True): "b"}.get(
        (a is not None, b is not None), "none"
    )
    return {
        **link,
        "speed_bps": speed,
        "a_in_bps": get(a, "in_bps"),
        "a_out_bps": get(a, "out_bps"),
        "b_in_bps": get(b, "in_bps"),
        "b_out_bps": get(b, "out_bps"),
        "a_to_b_bps": a_to_b,
        "b_to_a_bps": b_to_a,
        "a_to_b_util_pct": ab_pct,
        "b_to_a_util_pct": ba_pct,
        "busier": busier,
        "util_pct": util,
        "peak_util_pct": peak,
        "measured": measured,
        "resolution": resolution,
    }


def _rank(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most utilised first; links whose utilisation is unknown after every known one (those
    with a known rate first, busiest first), each group in link order."""

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        util = row["util_pct"]
        busiest = _larger(row["a_to_b_bps"], row["b_to_a_bps"])
        return (
            util is None,
            -(util or 0.0),
            busiest is None,
            -(busiest or 0.0),
            row["a_device"],
            row["a_interface"],
            row["b_device"],
            row["b_interface"],
        )

    return sorted(rows, key=key)


async def _link_utilization(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    store = _store(ctx)
    since, until = params.bounds(datetime.now(UTC))
    resolution = params.chosen(store, since, until)
    links = await ctx.store.execute(_LINKS, {"site": params.site, "role": params.role})
    ends = sorted(
        {(row["a_device"], row["a_interface"]) for row in links}
        | {(row["b_device"], row["b_interface"]) for row in links}
    )
    try:
        await store.ensure_schema()
        _, found = await store.summarise(since, until, keys=ends, resolution=resolution)
    except _DOWN as exc:
        raise _unavailable(exc) from None
    rows = [
        _link(
            link,
            found.get((link["a_device"], link["a_interface"])),
            found.get((link["b_device"], link["b_interface"])),
            resolution,
        )
        for link in links
    ]
    return _rank(rows)[: params.top]


LINK_UTILIZATION = Query(
    name="link_utilization",
    category="Metrics",
    summary="Every link of the graph with both ends' in/out rates over a window, each "
    "direction's utilisation and the busier one, most utilised first (top N); a link end "
    "without metrics is unknown (null), never 0.",
    params=LinkUtilizationParams,
    row=LinkUtilizationRow,
    feature=FEATURE,
    run=_link_utilization,
    source="metrics",
)

QUERIES = [INTERFACE_METRICS, LINK_UTILIZATION]
