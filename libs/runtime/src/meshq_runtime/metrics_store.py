"""Interface metrics in PostgreSQL: counter samples, their rates, and 5-minute, hourly and daily
rollups.

Every table is partitioned by day (declarative range partitioning on its time column, UTC
days). Partitions are made on demand before a batch lands and dropped whole once past their
retention: ``MESHQ_METRICS_RETENTION`` for samples and rates, ``MESHQ_METRICS_ROLLUP_5M_RETENTION``,
``MESHQ_METRICS_ROLLUP_1H_RETENTION`` and ``MESHQ_METRICS_ROLLUP_1D_RETENTION`` for the
rollups. Dropping a partition costs the same whatever it holds, and leaves no dead rows behind.

Batches arrive as Arrow tables (the columns of ``network_discovery.metrics``) and go in with
one ``COPY`` into a staging table, then one ``INSERT … ON CONFLICT DO NOTHING``: writing a
batch again (at-least-once delivery) adds nothing. Unsigned 64-bit counters are kept in
``bigint`` columns bit for bit (two's complement) and read back as unsigned.

Rollups are time-weighted averages (each rate weighs by its interval) and maxima over the
rates whose interval ends in the bucket; a daily bucket is made of the day's hourly buckets
(their means weighted by the seconds each covers). :meth:`MetricsStore.rollup` recomputes whole
buckets, so running it again over the same window gives the same rows. A read picks the finest
tier that suits the window's length and still holds the window's start (see
:meth:`MetricsStore.resolution_for`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import asyncpg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import structlog
from network_discovery.contracts.metrics import COUNTERS
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "MEASURES",
    "MIGRATIONS",
    "RESOLUTIONS",
    "SAMPLE_COLUMNS",
    "MetricsSettings",
    "MetricsStore",
    "TooManyRows",
    "choose_resolution",
    "parse_retention",
]

log = structlog.get_logger(__name__)

#: Sample columns, in table order; the unsigned ones are stored as bigint bit for bit.
SAMPLE_COLUMNS = (
    "device",
    "interface",
    "if_index",
    "ts",
    "uptime_ticks",
    *COUNTERS,
    "octets_bits",
    "packets_bits",
    "errors_bits",
    "speed_bps",
    "oper_status",
    "last_change_ticks",
    "discontinuity_ticks",
    "source",
)
_UNSIGNED = frozenset((*COUNTERS, "speed_bps"))
_RATES = (
    "in_bps",
    "out_bps",
    "in_pps",
    "out_pps",
    "in_errors_ps",
    "out_errors_ps",
    "in_discards_ps",
    "out_discards_ps",
)
RATE_COLUMNS = (
    "device",
    "interface",
    "ts",
    "interval_s",
    *_RATES,
    "speed_bps",
    "in_util_pct",
    "out_util_pct",
    "oper_status",
    "status_changes",
    "flags",
)
#: Rollup measures: every rate's time-weighted mean; the maximum of bit rates and utilisation.
_MAXED = ("in_bps", "out_bps", "in_util_pct", "out_util_pct")
#: Every measure of a rate row (and the mean of it a rollup bucket keeps), in table order.
MEASURES = (*_RATES, "in_util_pct", "out_util_pct")
#: A rollup bucket's measure columns, in table order.
_ROLLUP_MEASURES = (*(f"{c}_avg" for c in MEASURES), *(f"{c}_max" for c in _MAXED))

_SAMPLES_DDL = (
    "CREATE TABLE IF NOT EXISTS metrics_if_samples ("
    " device text NOT NULL, interface text NOT NULL, if_index bigint, ts timestamptz NOT NULL,"
    " uptime_ticks bigint, "
    + "".join(f"{c} bigint, " for c in COUNTERS)
    + " octets_bits smallint, packets_bits smallint, errors_bits smallint, speed_bps bigint,"
    " oper_status smallint, last_change_ticks bigint, discontinuity_ticks bigint,"
    " source text NOT NULL, PRIMARY KEY (device, interface, ts)) PARTITION BY RANGE (ts)"
)
_RATES_DDL = (
    "CREATE TABLE IF NOT EXISTS metrics_if_rates ("
    " device text NOT NULL, interface text NOT NULL, ts timestamptz NOT NULL,"
    " interval_s double precision NOT NULL, "
    + "".join(f"{c} double precision, " for c in _RATES)
    + " speed_bps double precision, in_util_pct double precision,"
    " out_util_pct double precision, oper_status smallint, status_changes integer NOT NULL,"
    " flags integer NOT NULL, PRIMARY KEY (device, interface, ts)) PARTITION BY RANGE (ts)"
)


def _rollup_ddl(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        " device text NOT NULL, interface text NOT NULL, bucket timestamptz NOT NULL,"
        " covered_s double precision NOT NULL, samples integer NOT NULL, "
        + "".join(f"{c}_avg double precision, " for c in MEASURES)
        + "".join(f"{c}_max double precision, " for c in _MAXED)
        + " speed_bps double precision, status_changes integer NOT NULL,"
        " flags integer NOT NULL, PRIMARY KEY (device, interface, bucket))"
        " PARTITION BY RANGE (bucket)"
    )


MIGRATIONS = [
    _SAMPLES_DDL,
    _RATES_DDL,
    _rollup_ddl("metrics_if_rollup_5m"),
    _rollup_ddl("metrics_if_rollup_1h"),
    _rollup_ddl("metrics_if_rollup_1d"),
]

Resolution = Literal["raw", "5m", "1h", "1d"]
#: Finest first.
RESOLUTIONS: tuple[Resolution, ...] = ("raw", "5m", "1h", "1d")
#: resolution -> (table, its time column)
_SOURCE: dict[str, tuple[str, str]] = {
    "raw": ("metrics_if_rates", "ts"),
    "5m": ("metrics_if_rollup_5m", "bucket"),
    "1h": ("metrics_if_rollup_1h", "bucket"),
    "1d": ("metrics_if_rollup_1d", "bucket"),
}


def choose_resolution(span: timedelta) -> Resolution:
    """The table a window of ``span`` is read from: raw rates up to 6 hours, 5-minute rollups
    up to 7 days, hourly ones up to 90 days, daily ones beyond."""
    if span <= timedelta(hours=6):
        return "raw"
    if span <= timedelta(days=7):
        return "5m"
    return "1h" if span <= timedelta(days=90) else "1d"


class TooManyRows(Exception):
    """A read would return more rows than the caller allowed."""


#: table -> its time column
_TABLES = {
    "metrics_if_samples": "ts",
    "metrics_if_rates": "ts",
    "metrics_if_rollup_5m": "bucket",
    "metrics_if_rollup_1h": "bucket",
    "metrics_if_rollup_1d": "bucket",
}
_PARTITION = re.compile(r"^(metrics_if_[a-z0-9_]+)_p(\d{8})$")
_DURATION = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")
#: Rows further ahead than this of the store's clock are refused (a device clock gone wrong).
_FUTURE = timedelta(days=1)


def parse_retention(text: str) -> timedelta:
    """``30d``, ``12w``, ``48h`` -> a duration of at least one day (the partition size)."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a retention such as 30d, 12w or 48h")
    amount, unit = int(match[1]), match[2]
    span = {"d": timedelta(days=amount), "w": timedelta(weeks=amount)}.get(
        unit, timedelta(hours=amount)
    )
    if span < timedelta(days=1) or span > timedelta(days=3660):
        raise ValueError(f"retention {text!r} must lie between 1 day and 10 years")
    return span


class MetricsSettings(BaseSettings):
    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    retention: timedelta = Field(timedelta(days=30), alias="MESHQ_METRICS_RETENTION")
    rollup_5m_retention: timedelta = Field(
        timedelta(days=90), alias="MESHQ_METRICS_ROLLUP_5M_RETENTION"
    )
    rollup_1h_retention: timedelta = Field(
        timedelta(days=400), alias="MESHQ_METRICS_ROLLUP_1H_RETENTION"
    )
    rollup_1d_retention: timedelta = Field(
        timedelta(days=1830), alias="MESHQ_METRICS_ROLLUP_1D_RETENTION"
    )

    @field_validator(
        "retention",
        "rollup_5m_retention",
        "rollup_1h_retention",
        "rollup_1d_retention",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_retention(value) if isinstance(value, str) else value

    def for_table(self, table: str) -> timedelta:
        if table.endswith("_5m"):
            return self.rollup_5m_retention
        if table.endswith("_1h"):
            return self.rollup_1h_retention
        if table.endswith("_1d"):
            return self.rollup_1d_retention
        return self.retention

    def for_resolution(self, resolution: Resolution) -> timedelta:
        """How long the rows a resolution is read from are kept."""
        return self.for_table(_SOURCE[resolution][0])


@dataclass(frozen=True)
class WriteResult:
    written: int
    #: rows outside what the store keeps: older than the retention, or a day ahead
    refused: int


def _day(value: datetime) -> date:
    return value.astimezone(UTC).date()


def _partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _csv(table: pa.Table, columns: Sequence[str]) -> bytes:
    arrays = []
    for name in columns:
        col = table.column(name).combine_chunks()
        if name in _UNSIGNED and pa.types.is_unsigned_integer(col.type):
            col = col.cast(pa.uint64()).view(pa.int64())  # bit for bit
        arrays.append(col)
    sink = io.BytesIO()
    pacsv.write_csv(
        pa.table(arrays, names=list(columns)), sink, pacsv.WriteOptions(include_header=False)
    )
    return sink.getvalue()


class MetricsStore:
    """Writes and reads interface metrics; ``settings`` decides what is kept how long."""

    def __init__(self, pool: asyncpg.Pool, settings: MetricsSettings | None = None) -> None:
        self._pool = pool
        self.settings = settings or MetricsSettings()
        self._made: set[str] = set()
        self._schema_ready = False

    async def ensure_schema(self) -> None:
        """The tables, made once per store (the migrations are idempotent and serialised
        between processes): a reader that starts before any collector finds them there."""
        if self._schema_ready:
            return
        from meshq_runtime.postgres import apply_migrations

        await apply_migrations(self._pool, "metrics", MIGRATIONS)
        self._schema_ready = True

    def resolution_for(
        self, since: datetime, until: datetime, *, now: datetime | None = None
    ) -> Resolution:
        """The tier a window ``[since, until)`` is read from: the one its length calls for
        (:func:`choose_resolution`), or the first coarser one whose retention still holds
        ``since`` (a short window long ago is read from the rollups once the raw rates of
        those days are dropped); the coarsest when none does."""
        now = now or datetime.now(UTC)
        chosen = choose_resolution(until - since)
        for tier in RESOLUTIONS[RESOLUTIONS.index(chosen) :]:
            if since >= now - self.settings.for_resolution(tier):
                return tier
        return RESOLUTIONS[-1]

    async def ensure_partitions(self, table: str, days: Iterable[date]) -> None:
        """The day partitions of ``table`` for ``days`` (made once; concurrent makers wait)."""
        wanted = sorted({d for d in days if _partition_name(table, d) not in self._made})
        if not wanted:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('meshq_metrics_parts'))")
            for day in wanted:
                name = _partition_name(table, day)
                start = datetime.combine(day, time.min, tzinfo=UTC)
                # bounds are dates we computed, written as literals (DDL takes no parameters)
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {_quote(name)} PARTITION OF {_quote(table)}"
                    f" FOR VALUES FROM ('{start.isoformat()}')"
                    f" TO ('{(start + timedelta(days=1)).isoformat()}')"
                )
        self._made.update(_partition_name(table, d) for d in wanted)

    def _within(self, table: pa.Table, column: str, store: str, now: datetime) -> pa.Table:
        oldest = now - self.settings.for_table(store)
        ts = table.column(column)
        keep = pc.and_(
            pc.greater_equal(ts, pa.scalar(oldest, ts.type)),
            pc.less(ts, pa.scalar(now + _FUTURE, ts.type)),
        )
        return table.filter(keep)

    async def _write(
        self, store: str, table: pa.Table, columns: Sequence[str], now: datetime | None
    ) -> WriteResult:
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise ValueError(f"{store}: the batch lacks the columns {missing}")
        now = now or datetime.now(UTC)
        kept = self._within(table, "ts", store, now)
        refused = table.num_rows - kept.num_rows
        if refused:
            log.warning("metrics.rows_refused", table=store, rows=refused)
        if kept.num_rows == 0:
            return WriteResult(0, refused)
        days = pc.unique(pc.cast(kept.column("ts"), pa.date32())).to_pylist()
        data = _csv(kept, columns)
        for attempt in (1, 2):
            await self.ensure_partitions(store, days)
            try:
                written = await self._insert(store, columns, data)
            except asyncpg.CheckViolationError:
                # a partition this store made was dropped meanwhile (retention run by another
                # process): forget what was made and make it again, once
                if attempt == 2:
                    raise
                self._made.clear()
            else:
                return WriteResult(written, refused)
        raise AssertionError("unreachable")

    async def _insert(self, store: str, columns: Sequence[str], data: bytes) -> int:
        names = ", ".join(columns)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"CREATE TEMP TABLE _metrics_stage (LIKE {store} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            await conn.copy_to_table(
                "_metrics_stage", source=io.BytesIO(data), columns=list(columns), format="csv"
            )
            status = await conn.execute(
                f"INSERT INTO {store} ({names}) SELECT {names} FROM _metrics_stage"  # noqa: S608 - identifiers from this module, values bound
                " ON CONFLICT DO NOTHING"
            )
        return int(status.rsplit(" ", 1)[-1])

    async def write_samples(self, samples: pa.Table, *, now: datetime | None = None) -> WriteResult:
        return await self._write("metrics_if_samples", samples, SAMPLE_COLUMNS, now)

    async def write_rates(self, rates: pa.Table, *, now: datetime | None = None) -> WriteResult:
        return await self._write("metrics_if_rates", rates, RATE_COLUMNS, now)

    async def latest_samples(
        self, *, within: timedelta = timedelta(hours=1), now: datetime | None = None
    ) -> pa.Table:
        """Each interface's newest sample of the last ``within``: where a poller that has just
        started takes its previous sample from."""
        now = now or datetime.now(UTC)
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT DISTINCT ON (device, interface) {', '.join(SAMPLE_COLUMNS)}"  # noqa: S608 - identifiers from this module, values bound
                " FROM metrics_if_samples WHERE ts >= $1 AND ts <= $2"
                " ORDER BY device, interface, ts DESC",
                now - within,
                now,
            )
        return _samples_table(rows)

    async def read_samples(
        self, device: str, since: datetime, until: datetime, interface: str | None = None
    ) -> pa.Table:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM metrics_if_samples"  # noqa: S608 - identifiers from this module, values bound
                " WHERE device = $1 AND ($2::text IS NULL OR interface = $2)"
                " AND ts >= $3 AND ts < $4 ORDER BY interface, ts",
                device,
                interface,
                since,
                until,
            )
        return _samples_table(rows)

    async def read_rates(
        self,
        device: str,
        since: datetime,
        until: datetime,
        *,
        interface: str | None = None,
        resolution: Resolution | None = None,
        max_rows: int | None = None,
        now: datetime | None = None,
    ) -> tuple[Resolution, list[dict[str, Any]]]:
        """Rates of one device (one interface) in ``[since, until)``, from the tier
        :meth:`resolution_for` picks unless ``resolution`` says. With ``max_rows``, a read that
        would return more rows raises :class:`TooManyRows` (nothing more is read). ``now``: the
        moment the retentions count back from (default: the clock)."""
        if until <= since:
            raise ValueError("until must come after since")
        chosen: Resolution = resolution or self.resolution_for(since, until, now=now)
        table, column = _SOURCE[chosen]
        bound = "" if max_rows is None else f" LIMIT {int(max_rows) + 1}"
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT * FROM {table} WHERE device = $1"  # noqa: S608 - identifiers from this module, values bound
                " AND ($2::text IS NULL OR interface = $2)"
                f" AND {column} >= $3 AND {column} < $4 ORDER BY interface, {column}{bound}",
                device,
                interface,
                since,
                until,
            )
        if max_rows is not None and len(rows) > max_rows:
            raise TooManyRows(f"more than {max_rows} rows")
        return chosen, [dict(r) for r in rows]

    async def summarise(
        self,
        since: datetime,
        until: datetime,
        *,
        device: str | None = None,
        interface: str | None = None,
        keys: Sequence[tuple[str, str]] | None = None,
        resolution: Resolution | None = None,
        now: datetime | None = None,
    ) -> tuple[Resolution, dict[tuple[str, str], dict[str, Any]]]:
        """One summary per interface over ``[since, until)``: every rate's time-weighted mean,
        the maxima of bit rates and utilisation, the seconds covered, the highest speed seen,
        the status changes and the flags seen. Only ``device`` (and ``interface``), or only the
        (device, interface) pairs of ``keys``; an interface with nothing in the window is left
        out (its rates are unknown, not 0)."""
        if until <= since:
            raise ValueError("until must come after since")
        chosen: Resolution = resolution or self.resolution_for(since, until, now=now)
        if keys is not None and not keys:
            return chosen, {}
        if chosen == "raw":
            table, column, weight = "metrics_if_rates", "ts", "interval_s"
            means = {c: c for c in MEASURES}
            maxima = {c: c for c in _MAXED}
            count = "count(*)"
        else:
            (table, column), weight = _SOURCE[chosen], "covered_s"
            means = {c: f"{c}_avg" for c in MEASURES}
            maxima = {c: f"{c}_max" for c in _MAXED}
            count = "sum(samples)"
        selected = ", ".join(
            [
                f"sum(t.{src} * t.{weight}) / nullif(sum(t.{weight})"
                f" FILTER (WHERE t.{src} IS NOT NULL), 0) AS {name}"
                for name, src in means.items()
            ]
            + [f"max(t.{src}) AS {name}_max" for name, src in maxima.items()]
        )
        where = [f"t.{column} >= $1", f"t.{column} < $2"]
        args: list[Any] = [since, until]
        source = f"{table} t"
        if keys is not None:
            source += (
                " JOIN unnest($3::text[], $4::text[]) AS k(device, interface)"
                " USING (device, interface)"
            )
            args += [[k[0] for k in keys], [k[1] for k in keys]]
        else:
            where.append("($3::text IS NULL OR t.device = $3)")
            where.append("($4::text IS NULL OR t.interface = $4)")
            args += [device, interface]
        sql = (
            f"SELECT device, interface, {selected}, sum(t.{weight}) AS covered_s,"  # noqa: S608 - identifiers from this module, values bound
            f" {count}::bigint AS samples, max(t.speed_bps) AS speed_bps,"
            f" sum(t.status_changes)::bigint AS status_changes, bit_or(t.flags) AS flags,"
            f" min(t.{column}) AS first, max(t.{column}) AS last"
            f" FROM {source} WHERE {' AND '.join(where)} GROUP BY device, interface"
        )
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(sql, *args)
        return chosen, {(r["device"], r["interface"]): dict(r) for r in rows}

    async def rollup(self, since: datetime, until: datetime) -> dict[str, int]:
        """Recompute the 5-minute and hourly buckets that ``[since, until)`` touches (from the
        rates), then the daily buckets of the days it touches (from the hourly ones)."""
        start = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        end = until.astimezone(UTC)
        if end > end.replace(minute=0, second=0, microsecond=0):
            end = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        days = [(start + timedelta(days=i)).date() for i in range((end - start).days + 2)]
        done: dict[str, int] = {}
        for table, width in (
            ("metrics_if_rollup_5m", "5 minutes"),
            ("metrics_if_rollup_1h", "1 hour"),
        ):
            await self.ensure_partitions(table, days)
            async with self._pool.acquire() as conn:
                status = await conn.execute(_rollup_sql(table, width), start, end)
            done[table] = int(status.rsplit(" ", 1)[-1])
        first_day = datetime.combine(start.date(), time.min, tzinfo=UTC)
        last_day = datetime.combine(end.date(), time.min, tzinfo=UTC)
        if last_day < end:
            last_day += timedelta(days=1)
        await self.ensure_partitions(
            "metrics_if_rollup_1d",
            [(first_day + timedelta(days=i)).date() for i in range((last_day - first_day).days)],
        )
        async with self._pool.acquire() as conn:
            status = await conn.execute(_DAILY_SQL, first_day, last_day)
        done["metrics_if_rollup_1d"] = int(status.rsplit(" ", 1)[-1])
        return done

    async def apply_retention(self, *, now: datetime | None = None) -> list[str]:
        """Drop every partition whose whole day lies past its table's retention."""
        now = now or datetime.now(UTC)
        dropped: list[str] = []
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT c.relname AS name FROM pg_inherits i"
                " JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent"
                " WHERE p.relname = ANY($1::text[])",
                list(_TABLES),
            )
            for row in rows:
                match = _PARTITION.match(row["name"])
                if not match:
                    continue
                table, day = match[1], datetime.strptime(match[2], "%Y%m%d").date()
                cutoff = now - self.settings.for_table(table)
                if datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC) <= cutoff:
                    await conn.execute(f"DROP TABLE IF EXISTS {_quote(row['name'])}")
                    self._made.discard(row["name"])
                    dropped.append(row["name"])
        if dropped:
            log.info("metrics.retention.dropped", partitions=len(dropped))
        return sorted(dropped)


def _rollup_upsert(table: str, select: str) -> str:
    """Rollup buckets into ``table`` from ``select`` (device, interface, bucket, covered
    seconds, samples, the measures, speed, status changes and flags, in that order); a bucket
    stored before is replaced."""
    updates = ", ".join(
        f"{c} = EXCLUDED.{c}"
        for c in ("covered_s", "samples", *_ROLLUP_MEASURES, "speed_bps", "status_changes", "flags")
    )
    return (
        f"INSERT INTO {table} (device, interface, bucket, covered_s, samples,"
        f" {', '.join(_ROLLUP_MEASURES)}, speed_bps, status_changes, flags) {select}"
        f" ON CONFLICT (device, interface, bucket) DO UPDATE SET {updates}"
    )


def _rollup_sql(table: str, width: str) -> str:
    weighted = ", ".join(
        f"sum({c} * interval_s) / nullif(sum(interval_s) FILTER (WHERE {c} IS NOT NULL), 0)"
        for c in MEASURES
    )
    maxima = ", ".join(f"max({c})" for c in _MAXED)
    return _rollup_upsert(
        table,
        "SELECT device, interface,"  # noqa: S608 - identifiers from this module, values bound
        f" date_bin('{width}', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,"
        f" sum(interval_s), count(*)::integer, {weighted}, {maxima}, max(speed_bps),"
        " sum(status_changes)::integer, bit_or(flags)"
        " FROM metrics_if_rates WHERE ts >= $1 AND ts < $2"
        " GROUP BY device, interface, bucket",
    )


def _daily_sql() -> str:
    """Daily buckets from the hourly ones: means weighted by the seconds each hour covers,
    maxima of maxima, sums of counts."""
    means = ", ".join(
        f"sum({c}_avg * covered_s) / nullif(sum(covered_s) FILTER (WHERE {c}_avg IS NOT NULL), 0)"
        for c in MEASURES
    )
    maxima = ", ".join(f"max({c}_max)" for c in _MAXED)
    return _rollup_upsert(
        "metrics_if_rollup_1d",
        "SELECT device, interface,"  # noqa: S608 - identifiers from this module, values bound
        " date_bin('1 day', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS day,"
        f" sum(covered_s), sum(samples)::integer, {means}, {maxima}, max(speed_bps),"
        " sum(status_changes)::integer, bit_or(flags)"
        " FROM metrics_if_rollup_1h WHERE bucket >= $1 AND bucket < $2"
        " GROUP BY device, interface, day",
    )


_DAILY_SQL = _daily_sql()

_SAMPLE_TYPES = {
    "device": pa.string(),
    "interface": pa.string(),
    "if_index": pa.int64(),
    "ts": pa.timestamp("us", tz="UTC"),
    "uptime_ticks": pa.int64(),
    **dict.fromkeys(COUNTERS, pa.int64()),
    "octets_bits": pa.uint8(),
    "packets_bits": pa.uint8(),
    "errors_bits": pa.uint8(),
    "speed_bps": pa.int64(),
    "oper_status": pa.int8(),
    "last_change_ticks": pa.int64(),
    "discontinuity_ticks": pa.int64(),
    "source": pa.string(),
}


def _samples_table(rows: Sequence[asyncpg.Record]) -> pa.Table:
    columns = {}
    for name in SAMPLE_COLUMNS:
        arr = pa.array([r[name] for r in rows], type=_SAMPLE_TYPES[name])
        if name in _UNSIGNED:
            arr = arr.view(pa.uint64())
        columns[name] = arr
    return pa.table(columns)
