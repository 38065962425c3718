"""The flow store: raw flow records and their 1-minute rollup, in ClickHouse's SQL.

One set of statements serves both engines: the ClickHouse server in production (its HTTP
interface, :class:`ClickHouseHTTP`) and ClickHouse's engine in-process for the embedded default
(``chdb``, :class:`ChdbBackend`). Tables, views and queries are the same text on both; only the
source of an insert differs (the server reads the Arrow stream sent as the request body, chdb
reads the Arrow table in memory). Values reach SQL as ClickHouse query parameters
(``{name:Type}``), never spliced into the text; the only numbers written into statements are
the validated retention periods of the ``TTL`` clauses.

Tables (in one database, ``meshq_flows`` unless told otherwise):

- ``flows``: every record as decoded, with the time its batch was received; partitioned by
  day, removed ``MESHQ_FLOWS_RETENTION`` after that time (``TTL``);
- ``flows_1m`` and the narrower rollups: per minute, exporter, addresses, protocol and
  interfaces (or fewer keys: source, destination, service port, interface), the bytes and
  packets scaled by the sampling rate and the number of records; filled by materialized views
  on every insert, kept ``MESHQ_FLOWS_ROLLUP_RETENTION``; and the same per hour (``*_1h``),
  which a query reads for the whole hours of its window;
- ``flow_if_counters``: sFlow counter samples' generic interface counters as received;
  ``flow_interface_names`` and ``flow_sampling``: what options records told (ifName by
  ifIndex, sampling rates) per exporter and observation domain;
- ``flow_exporters``: what each exporter's collector last reported (packets, records,
  templates known, sequence gaps, sampling rate), one row per exporter after merges.

Inserts are idempotent per batch id: ClickHouse's insert deduplication (the batch id as
``insert_deduplication_token``, on the raw table and every rollup the views write) drops a batch
already inserted among the last :data:`DEDUP_WINDOW` batches, so a batch delivered twice is
stored once.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal, Protocol

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from network_discovery.flows.decode import SCHEMA, DomainOptions
from network_discovery.flows.sflow import COUNTER_SCHEMA

__all__ = [
    "DEDUP_WINDOW",
    "INSERT_SETTINGS",
    "OPTION_TABLES",
    "ChdbBackend",
    "ClickHouseHTTP",
    "ExporterStatus",
    "FlowStore",
    "FlowStoreError",
    "embedded_path",
    "parse_duration",
    "retention_from_env",
]

#: Batches whose ids are remembered for deduplication, per table.
DEDUP_WINDOW = 10_000
DEFAULT_RETENTION_S = 7 * 86400
DEFAULT_ROLLUP_RETENTION_S = 30 * 86400
#: Rows one query answers at most.
MAX_ROWS = 10_000

_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class FlowStoreError(Exception):
    """The store could not be opened or could not run a statement."""


def parse_duration(text: str) -> int:
    """``"7d"``, ``"12h"``, ``"90m"``, ``"3600"`` (seconds) → seconds (at least 60)."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"not a duration: {text!r} (a number with s, m, h, d or w)")
    seconds = int(found[1]) * _UNITS[found[2]]
    if not 60 <= seconds <= 10 * 366 * 86400:
        raise ValueError(f"duration {text!r} must be between 1 minute and 10 years")
    return seconds


def retention_from_env(environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(raw, rollup) retention in seconds from ``MESHQ_FLOWS_RETENTION`` (default 7 days) and
    ``MESHQ_FLOWS_ROLLUP_RETENTION`` (default 30 days, never shorter than the raw one)."""
    env = os.environ if environ is None else environ
    raw = parse_duration(env.get("MESHQ_FLOWS_RETENTION", "") or f"{DEFAULT_RETENTION_S}")
    rollup = parse_duration(
        env.get("MESHQ_FLOWS_ROLLUP_RETENTION", "") or f"{DEFAULT_ROLLUP_RETENTION_S}"
    )
    return raw, max(raw, rollup)


# --- the statements -----------------------------------------------------------------------------

#: The raw table's columns: the decoder's, after the time their batch was received.
RAW_COLUMNS = ("time", *SCHEMA.names)
_RAW_TYPES = {
    "time": "DateTime('UTC')",
    "exporter": "LowCardinality(String)",
    "version": "UInt8",
    "domain": "UInt32",
    "src_addr": "IPv6",
    "dst_addr": "IPv6",
    "proto": "UInt8",
    "src_port": "UInt16",
    "dst_port": "UInt16",
    "bytes": "UInt64",
    "packets": "UInt64",
    "input_if": "UInt32",
    "output_if": "UInt32",
    "tcp_flags": "UInt8",
    "sampling_rate": "UInt32",
}
#: The rollups: per minute and exporter, the columns each one keeps (name, type, and the
#: expression it is computed by from the raw table), bytes and packets scaled by the sampling
#: rate, and the records summed. ``flows_1m`` keeps every key (any filter, interfaces
#: included); the others keep one dimension each, so that a question about it reads a table
#: that has folded everything else away.
_SUMS = (
    "sum(bytes * greatest(sampling_rate, 1)) AS bytes, "
    "sum(packets * greatest(sampling_rate, 1)) AS packets, count() AS flows"
)
_ROLLUPS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # addresses, protocol and interfaces: not the ports, so the many connections between two
    # hosts fold into one row a minute
    "flows_1m": (
        ("src_addr", "IPv6", "src_addr"),
        ("dst_addr", "IPv6", "dst_addr"),
        ("proto", "UInt8", "proto"),
        ("input_if", "UInt32", "input_if"),
        ("output_if", "UInt32", "output_if"),
    ),
    "flows_src_1m": (("src_addr", "IPv6", "src_addr"),),
    "flows_dst_1m": (("dst_addr", "IPv6", "dst_addr"),),
    # the service port of a conversation: the lower of its two ports (ephemeral ports are high)
    "flows_app_1m": (
        ("proto", "UInt8", "proto"),
        ("port", "UInt16", "least(src_port, dst_port)"),
        ("input_if", "UInt32", "input_if"),
        ("output_if", "UInt32", "output_if"),
    ),
    # each flow twice: on its input interface (direction 0) and its output one (1)
    "flows_if_1m": (("if_index", "UInt32", "if_index"), ("direction", "UInt8", "direction")),
}
_ARRAY_JOIN = {"flows_if_1m": " ARRAY JOIN [input_if, output_if] AS if_index, [0, 1] AS direction"}
#: The minute rollups filled from ``flows_1m``'s inserts rather than the raw table.
_FROM_PAIRS = ("flows_src_1m", "flows_dst_1m", "flows_if_1m")
_SETTINGS = (
    f"SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}, ttl_only_drop_parts = 1"
)


#: The minute rollups that also have a daily one: the bytes each host sent (received) per
#: day, an upper bound of what it sent in any window within the days read (see
#: :meth:`FlowStore._ranked`), a few rows per host and day.
_DAILY = ("flows_src_1m", "flows_dst_1m")


def _hourly(name: str) -> str:
    """The hourly rollup of a minute one (``flows_src_1m`` -> ``flows_src_1h``)."""
    return name[: -len("_1m")] + "_1h"


def _daily(name: str) -> str:
    """The daily rollup of a minute one (``flows_src_1m`` -> ``flows_src_1d``)."""
    return name[: -len("_1m")] + "_1d"


_GRAIN_TABLE = {"minute": lambda n: n, "hour": _hourly, "day": _daily}


def _rollup_table(db: str, name: str, grain: str, rollup_retention: int) -> str:
    keys = _ROLLUPS[name]
    columns = ", ".join(f"{c} {t}" for c, t, _ in keys)
    order = ", ".join([grain, "exporter", *(c for c, _, _ in keys)])
    return (
        f"CREATE TABLE IF NOT EXISTS {db}.{_GRAIN_TABLE[grain](name)} "
        f"({grain} DateTime('UTC'), exporter LowCardinality(String), {columns}, bytes UInt64, "
        "packets UInt64, flows UInt64) ENGINE = SummingMergeTree((bytes, packets, flows)) "
        f"PARTITION BY toYYYYMMDD({grain}) ORDER BY ({order}) "
        f"TTL {grain} + toIntervalSecond({rollup_retention}) {_SETTINGS}"
    )


def _minute_view(db: str, name: str, select: str, order: str) -> str:
    """The view filling the minute rollup ``name``: from the raw table (scaling by the sampling
    rate), or, for those whose keys ``flows_1m`` holds, from what the view of ``flows_1m``
    writes (already scaled, and folded by minute, pair and interfaces: fewer rows to group)."""
    join = _ARRAY_JOIN.get(name, "")
    if name in _FROM_PAIRS:
        return (
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{name}_mv TO {db}.{name} AS "  # noqa: S608 - identifiers from this module
            f"SELECT minute, exporter, {select}, sum(bytes) AS bytes, sum(packets) AS packets, "
            f"sum(flows) AS flows FROM {db}.flows_1m{join} GROUP BY {order}"
        )
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{name}_mv TO {db}.{name} AS "  # noqa: S608 - identifiers from this module
        f"SELECT toStartOfMinute(time) AS minute, exporter, {select}, {_SUMS} "
        f"FROM {db}.flows{join} GROUP BY {order}"
    )


def _rollup_ddl(db: str, name: str, rollup_retention: int, backfill: bool = False) -> list[str]:
    """The minute rollup ``name`` (filled as :func:`_minute_view` says) and its hourly one
    (filled from the minute rollup's inserts: it only folds what the minute view folded).
    ``backfill``: the hourly one is new beside a minute one that may hold rows: it is filled
    from them before its view is made (a store made before the hourly rollups existed)."""
    keys = _ROLLUPS[name]
    order = ", ".join(["minute", "exporter", *(c for c, _, _ in keys)])
    hour_order = ", ".join(["hour", "exporter", *(c for c, _, _ in keys)])
    select = ", ".join(e if e == c else f"{e} AS {c}" for c, _, e in keys)
    hourly = _hourly(name)
    return [
        _rollup_table(db, name, "minute", rollup_retention),
        _minute_view(db, name, select, order),
        f"ALTER TABLE {db}.{name} MODIFY TTL minute + toIntervalSecond({rollup_retention})",
        _rollup_table(db, name, "hour", rollup_retention),
        *(
            [
                f"INSERT INTO {db}.{hourly} SELECT toStartOfHour(minute) AS hour, exporter, "  # noqa: S608 - identifiers from this module
                f"{', '.join(c for c, _, _ in keys)}, sum(bytes) AS bytes, "
                f"sum(packets) AS packets, sum(flows) AS flows FROM {db}.{name} "
                f"GROUP BY {hour_order}"
            ]
            if backfill
            else []
        ),
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{hourly}_mv TO {db}.{hourly} AS "  # noqa: S608 - identifiers from this module
        f"SELECT toStartOfHour(minute) AS hour, exporter, "
        f"{', '.join(c for c, _, _ in keys)}, sum(bytes) AS bytes, sum(packets) AS packets, "
        f"sum(flows) AS flows FROM {db}.{name} GROUP BY {hour_order}",
        f"ALTER TABLE {db}.{hourly} MODIFY TTL hour + toIntervalSecond({rollup_retention})",
    ]


def _daily_ddl(db: str, name: str, rollup_retention: int, backfill: bool = False) -> list[str]:
    """The daily rollup of ``name`` (one of :data:`_DAILY`), filled from its hourly one's
    inserts; ``backfill``: new beside an hourly one that may hold rows (filled from them)."""
    keys = ", ".join(c for c, _, _ in _ROLLUPS[name])
    hourly, daily = _hourly(name), _daily(name)
    select = (
        f"SELECT toStartOfDay(hour) AS day, exporter, {keys}, sum(bytes) AS bytes, "  # noqa: S608 - identifiers from this module
        f"sum(packets) AS packets, sum(flows) AS flows FROM {db}.{hourly} "
        f"GROUP BY day, exporter, {keys}"
    )
    return [
        _rollup_table(db, name, "day", rollup_retention),
        *([f"INSERT INTO {db}.{daily} {select}"] if backfill else []),
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{daily}_mv TO {db}.{daily} AS {select}",
        f"ALTER TABLE {db}.{daily} MODIFY TTL day + toIntervalSecond({rollup_retention})",
    ]


def _ddl(
    db: str, retention: int, rollup_retention: int, tables: frozenset[str] = frozenset()
) -> list[str]:
    """The statements making (or bringing up to date) the store's tables; ``tables``: those
    the database already holds."""
    columns = ", ".join(f"{c} {_RAW_TYPES[c]}" for c in RAW_COLUMNS)
    return [
        f"CREATE DATABASE IF NOT EXISTS {db}",
        f"CREATE TABLE IF NOT EXISTS {db}.flows ({columns}) "
        "ENGINE = MergeTree PARTITION BY toYYYYMMDD(time) ORDER BY (time, exporter) "
        f"TTL time + toIntervalSecond({retention}) {_SETTINGS}",
        *(
            stmt
            for name in _ROLLUPS
            for stmt in _rollup_ddl(
                db, name, rollup_retention, name in tables and _hourly(name) not in tables
            )
        ),
        *(
            stmt
            for name in _DAILY
            for stmt in _daily_ddl(
                db, name, rollup_retention, _hourly(name) in tables and _daily(name) not in tables
            )
        ),
        f"CREATE TABLE IF NOT EXISTS {db}.flow_exporters (exporter String, "
        "updated DateTime64(3, 'UTC'), last_packet DateTime64(3, 'UTC'), packets UInt64, "
        "records UInt64, dropped UInt64, lost UInt64, received UInt64, templates UInt32, "
        "sampling_rate UInt32, version UInt8) "
        "ENGINE = ReplacingMergeTree(updated) ORDER BY exporter",
        # an existing store takes the retention configured now
        f"ALTER TABLE {db}.flows MODIFY TTL time + toIntervalSecond({retention})",
        f"CREATE TABLE IF NOT EXISTS {db}.flow_if_counters (time DateTime64(3, 'UTC'), "
        f"{', '.join(f'{c} {t}' for c, t in _COUNTER_TYPES.items())}) ENGINE = MergeTree "
        "PARTITION BY toYYYYMMDD(time) ORDER BY (exporter, domain, if_index, time) "
        f"TTL time + toIntervalSecond({rollup_retention}) {_SETTINGS}",
        f"ALTER TABLE {db}.flow_if_counters MODIFY TTL time + toIntervalSecond({rollup_retention})",
        f"CREATE TABLE IF NOT EXISTS {db}.flow_interface_names (exporter String, version UInt8, "
        "domain UInt32, if_index UInt32, name String, updated DateTime64(3, 'UTC')) "
        "ENGINE = ReplacingMergeTree(updated) ORDER BY (exporter, version, domain, if_index)",
        f"CREATE TABLE IF NOT EXISTS {db}.flow_sampling (exporter String, version UInt8, "
        "domain UInt32, scope UInt8, sampler UInt64, rate UInt32, updated DateTime64(3, 'UTC')) "
        "ENGINE = ReplacingMergeTree(updated) ORDER BY (exporter, version, domain, scope, sampler)",
    ]


#: sFlow counter samples' generic interface counters, as received.
_COUNTER_TYPES = {
    "exporter": "LowCardinality(String)",
    "domain": "UInt32",
    **{
        name: "UInt32" if field.type == pa.uint32() else "UInt64"
        for name, field in zip(COUNTER_SCHEMA.names[2:], list(COUNTER_SCHEMA)[2:], strict=True)
    },
}
#: The counters summed into deltas: (the answer's name, the sum of counters it is).
_COUNTER_DELTAS = (
    ("in_octets", "in_octets"),
    ("out_octets", "out_octets"),
    ("in_packets", "in_ucast_pkts + in_multicast_pkts + in_broadcast_pkts"),
    ("out_packets", "out_ucast_pkts + out_multicast_pkts + out_broadcast_pkts"),
    ("in_errors", "in_errors"),
    ("out_errors", "out_errors"),
    ("in_discards", "in_discards"),
    ("out_discards", "out_discards"),
)


def _counter_intervals_sql(db: str) -> str:
    """Per interface (exporter, sub-agent, ifIndex), each counter sample of the window: after
    the interface's first (``after_first``), the seconds since the one before and each
    counter's increase; ``ok`` false on the first and where a counter went down (the agent
    restarted, or a 32-bit counter wrapped): the increase over that interval is not known."""
    current = ", ".join(f"toInt64({expr}) AS {name}" for name, expr in _COUNTER_DELTAS)
    previous = ", ".join(f"lagInFrame({name}) OVER w AS p_{name}" for name, _ in _COUNTER_DELTAS)
    deltas = ", ".join(f"{name} - p_{name} AS d_{name}" for name, _ in _COUNTER_DELTAS)
    ok = " AND ".join(f"{name} >= p_{name}" for name, _ in _COUNTER_DELTAS)
    names = ", ".join(name for name, _ in _COUNTER_DELTAS)
    return (
        f"SELECT exporter, domain, if_index, time, if_speed, if_status, "  # noqa: S608 - identifiers from this module, values bound
        "(toUnixTimestamp64Milli(time) - toUnixTimestamp64Milli(p_time)) / 1000 AS seconds, "
        f"{deltas}, n > 1 AS after_first, n > 1 AND {ok} AS ok FROM ("
        f"SELECT exporter, domain, if_index, time, if_speed, if_status, {names}, "
        f"row_number() OVER w AS n, lagInFrame(time) OVER w AS p_time, {previous} FROM ("
        f"SELECT exporter, domain, if_index, time, if_speed, if_status, {current} "
        f"FROM {db}.flow_if_counters WHERE time >= {{since:DateTime('UTC')}} "
        "AND time < {until:DateTime('UTC')} AND " + _EXPORTERS + " "
        "AND ({if_index:UInt32} = 0 OR if_index = {if_index:UInt32})) "
        "WINDOW w AS (PARTITION BY exporter, domain, if_index ORDER BY time "
        "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW))"
    )


def _counters_sql(db: str) -> str:
    sums = ", ".join(f"sumIf(d_{name}, ok) AS {name}" for name, _ in _COUNTER_DELTAS)
    return (
        "SELECT exporter, domain, if_index, count() AS samples, "  # noqa: S608 - identifiers from this module, values bound
        "argMax(if_speed, time) AS if_speed, argMax(if_status, time) AS if_status, "
        "max(time) AS last_sample, sumIf(seconds, ok) AS seconds, "
        "countIf(after_first AND NOT ok) AS "
        f"discontinuities, {sums} FROM ({_counter_intervals_sql(db)}) "
        "GROUP BY exporter, domain, if_index "
        "ORDER BY in_octets + out_octets DESC, exporter, domain, if_index LIMIT {limit:UInt32}"
    )


def _counter_series_sql(db: str) -> str:
    columns = ", ".join(f"d_{name} AS {name}" for name, _ in _COUNTER_DELTAS)
    return (
        "SELECT exporter, domain, if_index, time, seconds, ok, if_speed, if_status, "  # noqa: S608 - identifiers from this module, values bound
        f"{columns} FROM ({_counter_intervals_sql(db)}) WHERE after_first "
        "ORDER BY exporter, domain, if_index, time LIMIT {limit:UInt32}"
    )


#: The settings of an insert deduplicated by its token (the ``batch`` parameter), on the table
#: and on every rollup its views write.
INSERT_SETTINGS = (
    "SETTINGS insert_deduplicate = 1, insert_deduplication_token = {batch:String}, "
    "deduplicate_blocks_in_dependent_materialized_views = 1, "
    # the views' blocks are grouped by their keys already: nothing to fold on insert
    "optimize_on_insert = 0"
)

#: The exporters a flow query keeps (none: all).
_EXPORTERS = "(empty({exporters:Array(String)}) OR has({exporters:Array(String)}, exporter))"
#: The window of a flow query, ``[since, until)`` in whole minutes, read as its whole hours
#: ``[hours_from, hours_to)`` from an hourly rollup and the minutes outside them from the
#: minute rollup (both exact: an hour row is the sum of its minute rows).
_HOURS = "hour >= {hours_from:DateTime('UTC')} AND hour < {hours_to:DateTime('UTC')}"
_MINUTES = (
    "minute >= {since:DateTime('UTC')} AND minute < {until:DateTime('UTC')} "
    "AND (minute < {hours_from:DateTime('UTC')} OR minute >= {hours_to:DateTime('UTC')})"
)
#: ... and, on ``flows_*`` and ``flows_app_*``, the interface (an ifIndex of those exporters,
#: in or out).
_ON_INTERFACE = " AND (input_if = {if_index:UInt32} OR output_if = {if_index:UInt32})"
_MEASURES = ("bytes", "packets", "flows")


def _rollup_union(db: str, table: str, columns: Sequence[str], where: str = "") -> str:
    """``columns`` of the minute rollup ``table`` and its hourly one over the query's window
    and exporters (and ``where``), as one subquery to aggregate."""
    cols = ", ".join(columns)
    extra = f" AND {where}" if where else ""
    return (
        f"(SELECT {cols} FROM {db}.{_hourly(table)} WHERE {_HOURS} AND {_EXPORTERS}{extra} "  # noqa: S608 - identifiers from this module, values bound
        f"UNION ALL SELECT {cols} FROM {db}.{table} WHERE {_MINUTES} AND {_EXPORTERS}{extra})"
    )


TopBy = Literal["src", "dst", "pair", "app"]

_NO_ADDRESS = "toIPv6('::')"
#: by -> (the columns answered, the grouping, the rollup of that dimension).
_TOP_KEYS: dict[str, tuple[str, str, str]] = {
    "src": (
        f"src_addr AS src, {_NO_ADDRESS} AS dst, 0 AS proto, 0 AS port",
        "src_addr",
        "flows_src_1m",
    ),
    "dst": (
        f"{_NO_ADDRESS} AS src, dst_addr AS dst, 0 AS proto, 0 AS port",
        "dst_addr",
        "flows_dst_1m",
    ),
    "pair": (
        "src_addr AS src, dst_addr AS dst, 0 AS proto, 0 AS port",
        "src_addr, dst_addr",
        "flows_1m",
    ),
    "app": (
        f"{_NO_ADDRESS} AS src, {_NO_ADDRESS} AS dst, proto, port",
        "proto, port",
        "flows_app_1m",
    ),
}
#: The rollups that keep the interfaces (an interface filter reads one of them).
_WITH_INTERFACES = {"flows_1m", "flows_app_1m"}


#: The projection of ``flows_1h`` ordered by source and destination address.
PAIR_PROJECTION = "by_pair"
#: Windows of at least these many minutes rank pairs and conversations within a bound (see
#: :meth:`FlowStore._ranked`); shorter ones read few enough rows to rank every pair.
BOUND_MINUTES = 180
#: ... and whose whole hours hold at least these many rows of ``flows_1h`` (fewer are grouped
#: faster than the bound is found).
BOUND_ROWS = 4_000_000
_DAYS = (
    "day >= toStartOfDay({since:DateTime('UTC')}) AND day < {until:DateTime('UTC')} "
    "AND " + "(empty({exporters:Array(String)}) OR has({exporters:Array(String)}, exporter))"
)


def _sent_at_least(db: str, side: str) -> str:
    """The addresses that sent (``side`` src) or received (dst) at least ``{bound}`` bytes
    over the days the window touches (a superset of the window: never less than they did in
    it)."""
    return (
        f"SELECT {side}_addr FROM {db}.flows_{side}_1d WHERE {_DAYS} "  # noqa: S608 - identifiers from this module, values bound
        f"GROUP BY {side}_addr HAVING sum(bytes) >= {{bound:UInt64}}"
    )


def _bound_pairs(db: str) -> str:
    """A pair moves no more bytes than its source sent and its destination received."""
    return (
        f"src_addr IN ({_sent_at_least(db, 'src')}) AND dst_addr IN ({_sent_at_least(db, 'dst')})"
    )


def _bound_conversations(db: str) -> str:
    """A conversation moves no more bytes than either end sent and received."""
    hosts = (
        f"SELECT addr FROM (SELECT src_addr AS addr, bytes FROM {db}.flows_src_1d WHERE {_DAYS} "  # noqa: S608 - identifiers from this module, values bound
        f"UNION ALL SELECT dst_addr AS addr, bytes FROM {db}.flows_dst_1d WHERE {_DAYS}) "
        "GROUP BY addr HAVING sum(bytes) >= {bound:UInt64}"
    )
    return f"src_addr IN ({hosts}) AND dst_addr IN ({hosts})"


def _top_sql(db: str, by: str, on_interface: bool, among: str = "") -> str:
    columns, group, table = _TOP_KEYS[by]
    where = among
    if on_interface:
        if table not in _WITH_INTERFACES:
            table = "flows_1m"
        where = " AND ".join(w for w in (_ON_INTERFACE[len(" AND ") :], among) if w)
    source = _rollup_union(db, table, [*group.split(", "), *_MEASURES], where)
    return (
        f"SELECT {columns}, sum(bytes) AS bytes, sum(packets) AS packets, "  # noqa: S608 - identifiers from this module, values bound
        f"sum(flows) AS flows FROM {source} GROUP BY {group} "
        # ties in the order of the keys: the same answer however the ranking was reached
        f"ORDER BY bytes DESC, packets DESC, {group} LIMIT {{limit:UInt32}}"
    )


def _conversations_sql(db: str, on_interface: bool, among: str = "") -> str:
    where = " AND ".join(
        w for w in (_ON_INTERFACE[len(" AND ") :] if on_interface else "", among) if w
    )
    source = _rollup_union(db, "flows_1m", ["src_addr", "dst_addr", "exporter", *_MEASURES], where)
    return (
        "SELECT least(src_addr, dst_addr) AS a, greatest(src_addr, dst_addr) AS b, "  # noqa: S608 - identifiers from this module, values bound
        "sumIf(bytes, src_addr <= dst_addr) AS bytes_a_to_b, "
        "sumIf(bytes, src_addr > dst_addr) AS bytes_b_to_a, "
        "sumIf(packets, src_addr <= dst_addr) AS packets_a_to_b, "
        "sumIf(packets, src_addr > dst_addr) AS packets_b_to_a, "
        "sum(flows) AS flows, uniqExact(exporter) AS exporters, "
        "sum(bytes) AS total_bytes "
        f"FROM {source} GROUP BY a, b "
        "ORDER BY total_bytes DESC, a, b LIMIT {limit:UInt32}"
    )


def _interfaces_sql(db: str) -> str:
    source = _rollup_union(
        db,
        "flows_if_1m",
        ["exporter", "if_index", "direction", *_MEASURES],
        "if_index != 0 AND ({if_index:UInt32} = 0 OR if_index = {if_index:UInt32})",
    )
    return (
        "SELECT exporter, if_index, sumIf(bytes, direction = 0) AS in_bytes, "  # noqa: S608 - identifiers from this module, values bound
        "sumIf(bytes, direction = 1) AS out_bytes, sumIf(packets, direction = 0) AS in_packets, "
        "sumIf(packets, direction = 1) AS out_packets, sumIf(flows, direction = 0) AS in_flows, "
        "sumIf(flows, direction = 1) AS out_flows "
        f"FROM {source} GROUP BY exporter, if_index "
        "ORDER BY in_bytes + out_bytes DESC, exporter, if_index LIMIT {limit:UInt32}"
    )


def _status_sql(db: str) -> str:
    return (
        "SELECT e.exporter AS exporter, e.updated AS updated, e.last_packet AS last_packet, "  # noqa: S608 - identifiers from this module, values bound
        "e.packets AS packets, e.records AS records, e.dropped AS dropped, e.lost AS lost, "
        "e.received AS received, e.templates AS templates, e.sampling_rate AS sampling_rate, "
        "e.version AS version, r.flows AS recent_flows "
        f"FROM (SELECT * FROM {db}.flow_exporters FINAL) AS e "
        "LEFT JOIN (SELECT exporter, sum(flows) AS flows "
        f"FROM {db}.flows_src_1m WHERE minute >= {{since:DateTime('UTC')}} GROUP BY exporter) "
        "AS r ON e.exporter = r.exporter "
        "WHERE empty({exporters:Array(String)}) OR has({exporters:Array(String)}, e.exporter) "
        "ORDER BY exporter LIMIT {limit:UInt32}"
    )


#: The tables of what options records told (replacing: a row written twice is kept once).
OPTION_TABLES = ("flow_interface_names", "flow_sampling")
_DELTA_NAMES = tuple(name for name, _ in _COUNTER_DELTAS)
_NAME_COLUMNS = ("exporter", "version", "domain", "if_index", "name", "updated")
_NAME_TYPES = {
    "exporter": pa.string(),
    "version": pa.uint8(),
    "domain": pa.uint32(),
    "if_index": pa.uint32(),
    "name": pa.string(),
    "updated": pa.timestamp("ms", tz="UTC"),
}
_SAMPLING_COLUMNS = ("exporter", "version", "domain", "scope", "sampler", "rate", "updated")
_SAMPLING_TYPES = {
    "exporter": pa.string(),
    "version": pa.uint8(),
    "domain": pa.uint32(),
    "scope": pa.uint8(),
    "sampler": pa.uint64(),
    "rate": pa.uint32(),
    "updated": pa.timestamp("ms", tz="UTC"),
}

_EXPORTER_COLUMNS = (
    "exporter",
    "updated",
    "last_packet",
    "packets",
    "records",
    "dropped",
    "lost",
    "received",
    "templates",
    "sampling_rate",
    "version",
)
_EXPORTER_SCHEMA = pa.schema(
    [
        ("exporter", pa.string()),
        ("updated", pa.timestamp("ms", tz="UTC")),
        ("last_packet", pa.timestamp("ms", tz="UTC")),
        ("packets", pa.uint64()),
        ("records", pa.uint64()),
        ("dropped", pa.uint64()),
        ("lost", pa.uint64()),
        ("received", pa.uint64()),
        ("templates", pa.uint32()),
        ("sampling_rate", pa.uint32()),
        ("version", pa.uint8()),
    ]
)


# --- parameters as ClickHouse text ----------------------------------------------------------------


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def param_text(value: Any) -> str:
    """A query parameter's value in the text form ClickHouse parses it from (the HTTP
    interface's ``param_<name>``, and chdb's ``params``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return str(int(value.timestamp()))
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_quote(str(v)) for v in value) + "]"
    return str(value)


# --- engines --------------------------------------------------------------------------------------


class Backend(Protocol):
    def execute(self, sql: str, params: Mapping[str, str] | None = None) -> None: ...

    def query(self, sql: str, params: Mapping[str, str] | None = None) -> pa.Table: ...

    def insert(self, table: str, data: pa.Table, settings: str, params: Mapping[str, str]) -> None:
        """``INSERT INTO table (columns) <settings>`` with ``data``'s rows."""
        ...

    def close(self) -> None: ...


_CHDB_LOCK = threading.Lock()
_CHDB: dict[str, Any] = {}


def embedded_path() -> str | None:
    """Where this process's embedded store is open (None: not yet)."""
    return _CHDB.get("path")


class ChdbBackend:
    """ClickHouse's engine in this process. chdb runs one engine per process, on one data
    path: every store of the process shares it (each in a database of its own)."""

    def __init__(self, path: str) -> None:
        try:
            from chdb import session  # type: ignore[import-untyped,unused-ignore]
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise FlowStoreError(
                "the embedded flow store needs chdb: pip install 'meshoptixiq-flows[embedded]'"
            ) from exc
        path = os.path.abspath(path)
        with _CHDB_LOCK:
            if _CHDB and _CHDB["path"] != path:
                raise FlowStoreError(
                    f"this process's embedded flow store is at {_CHDB['path']}; "
                    f"it cannot open {path} too"
                )
            if not _CHDB:
                os.makedirs(path, exist_ok=True)
                _CHDB.update(path=path, session=session.Session(path))
        self._session = _CHDB["session"]
        self.path = path

    def _run(self, sql: str, fmt: str, params: Mapping[str, str] | None) -> Any:
        try:
            with _CHDB_LOCK:
                return self._session.query(sql, fmt, params=dict(params or {}))
        except Exception as exc:  # chdb raises its own RuntimeError subclasses
            raise FlowStoreError(str(exc)) from exc

    def execute(self, sql: str, params: Mapping[str, str] | None = None) -> None:
        self._run(sql, "CSV", params)

    def query(self, sql: str, params: Mapping[str, str] | None = None) -> pa.Table:
        result = self._run(sql, "ArrowStream", params)
        raw = result.bytes()
        if not raw:
            return pa.table({})
        return pa.ipc.open_stream(pa.BufferReader(raw)).read_all()

    def close(self) -> None:
        """The engine stays open for the process (chdb cannot open another path after it)."""

    def insert(self, table: str, data: pa.Table, settings: str, params: Mapping[str, str]) -> None:
        columns = ", ".join(data.column_names)
        # chdb's Python() table function reads the local variable named in it
        batch = data  # noqa: F841
        self._run(
            f"INSERT INTO {table} ({columns}) {settings} SELECT * FROM Python(batch)",  # noqa: S608 - identifiers from this module, values bound
            "CSV",
            params,
        )


class ClickHouseHTTP:
    """A ClickHouse server through its HTTP interface: statements in the body (or ``query``
    for an insert, whose body is the Arrow stream), parameters as ``param_<name>``."""

    def __init__(
        self,
        url: str,
        *,
        user: str = "default",
        password: str = "",
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/"
        self._client = client or httpx.Client(timeout=timeout)
        self._auth = {"X-ClickHouse-User": user, "X-ClickHouse-Key": password}

    def _post(self, query: Mapping[str, str], body: bytes) -> bytes:
        try:
            response = self._client.post(
                self.url, params=dict(query), content=body, headers=self._auth
            )
        except httpx.HTTPError as exc:
            raise FlowStoreError(f"ClickHouse at {self.url}: {exc}") from exc
        if response.status_code != 200:
            raise FlowStoreError(
                f"ClickHouse answered {response.status_code}: {response.text[:500]}"
            )
        return response.content

    def close(self) -> None:
        self._client.close()

    @staticmethod
    def _params(params: Mapping[str, str] | None) -> dict[str, str]:
        return {f"param_{k}": v for k, v in (params or {}).items()}

    def execute(self, sql: str, params: Mapping[str, str] | None = None) -> None:
        self._post(self._params(params), sql.encode())

    def query(self, sql: str, params: Mapping[str, str] | None = None) -> pa.Table:
        raw = self._post(self._params(params), f"{sql} FORMAT ArrowStream".encode())
        if not raw:
            return pa.table({})
        return pa.ipc.open_stream(pa.BufferReader(raw)).read_all()

    def insert(self, table: str, data: pa.Table, settings: str, params: Mapping[str, str]) -> None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write_table(data)
        columns = ", ".join(data.column_names)
        query = {"query": f"INSERT INTO {table} ({columns}) {settings} FORMAT ArrowStream"}
        self._post({**query, **self._params(params)}, sink.getvalue().to_pybytes())


# --- the store ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExporterStatus:
    """What a collector knows of one exporter, as it reports it with its batches."""

    exporter: str
    last_packet: float
    packets: int
    records: int
    dropped: int
    lost: int
    received: int
    templates: int
    sampling_rate: int
    version: int

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ExporterStatus:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("an exporter status is a JSON object")
        return cls(
            exporter=str(raw["exporter"])[:255],
            last_packet=float(raw["last_packet"]),
            **{
                k: max(0, min(int(raw[k]), 2**63 - 1))
                for k in (
                    "packets",
                    "records",
                    "dropped",
                    "lost",
                    "received",
                    "templates",
                    "sampling_rate",
                    "version",
                )
            },
        )


def _addr_text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    address = ipaddress.IPv6Address(raw)
    if address == ipaddress.IPv6Address(0):
        return None
    return str(address.ipv4_mapped) if address.ipv4_mapped else str(address)


def _selection(
    exporters: Sequence[str] | None, limit: int, if_index: int | None = None
) -> dict[str, str]:
    """The parameters naming the exporters a read keeps (none: all), its ifIndex (0: any;
    left out when ``None``) and its row limit, each bounded."""
    params = {"exporters": param_text(list(exporters or []))}
    if if_index is not None:
        params["if_index"] = param_text(max(0, min(if_index, 2**32 - 1)))
    params["limit"] = param_text(max(1, min(limit, MAX_ROWS)))
    return params


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class FlowStore:
    """Flow records in and top talkers, conversations, interfaces and exporters out."""

    def __init__(
        self,
        backend: Backend,
        database: str = "meshq_flows",
        *,
        retention_s: int = DEFAULT_RETENTION_S,
        rollup_retention_s: int = DEFAULT_ROLLUP_RETENTION_S,
    ) -> None:
        if not _NAME.match(database):
            raise ValueError(f"not a database name: {database!r}")
        if not 60 <= retention_s <= rollup_retention_s:
            raise ValueError("retention: at least a minute, and no longer than the rollup's")
        self.backend = backend
        self.database = database
        self.retention_s = retention_s
        self.rollup_retention_s = rollup_retention_s
        existing = backend.query(
            "SELECT name FROM system.tables WHERE database = {db:String}", {"db": database}
        )
        tables = frozenset(
            str(n) for n in (existing.column("name").to_pylist() if existing.num_rows else [])
        )
        for statement in _ddl(database, int(retention_s), int(rollup_retention_s), tables):
            backend.execute(statement)
        self.pair_projection = self._pair_projection()
        #: windows whose whole hours hold fewer hourly pair rows are ranked without a bound
        self.bound_rows = BOUND_ROWS

    def _pair_projection(self) -> bool:
        """The hourly pairs in the order of their addresses too (a projection of
        ``flows_1h``), so that a bounded ranking reads the rows of the pairs it keeps rather
        than every row of their hours (see :meth:`_ranked`). An engine that cannot keep one
        (a ClickHouse older than 24.8) goes on without it: the answers are the same."""
        table = f"{self.database}.flows_1h"
        made = self.backend.query(
            "SELECT count() AS n FROM system.projections WHERE database = {db:String} "
            "AND table = 'flows_1h' AND name = {name:String}",
            {"db": self.database, "name": PAIR_PROJECTION},
        )
        if int(made.column("n")[0].as_py()):
            return True
        try:
            self.backend.execute(
                f"ALTER TABLE {table} MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'"
            )
            self.backend.execute(
                f"ALTER TABLE {table} ADD PROJECTION IF NOT EXISTS {PAIR_PROJECTION} "
                "(SELECT * ORDER BY src_addr, dst_addr, hour)"
            )
            # the parts stored before (a mutation in the background on a server)
            self.backend.execute(f"ALTER TABLE {table} MATERIALIZE PROJECTION {PAIR_PROJECTION}")
        except FlowStoreError:
            return False
        return True

    @classmethod
    def embedded(cls, path: str, database: str = "meshq_flows", **kw: Any) -> FlowStore:
        return cls(ChdbBackend(path), database, **kw)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FlowStore | None:
        """The store ``MESHQ_FLOWS_CLICKHOUSE_URL`` (a server) or ``MESHQ_FLOWS_PATH``
        (embedded) names, with the retention of the environment; None when neither is set."""
        env = os.environ if environ is None else environ
        raw, rollup = retention_from_env(env)
        database = env.get("MESHQ_FLOWS_DATABASE", "") or "meshq_flows"
        url = env.get("MESHQ_FLOWS_CLICKHOUSE_URL", "")
        if url:
            backend: Backend = ClickHouseHTTP(
                url,
                user=env.get("MESHQ_FLOWS_CLICKHOUSE_USER", "") or "default",
                password=env.get("MESHQ_FLOWS_CLICKHOUSE_PASSWORD", ""),
            )
            return cls(backend, database, retention_s=raw, rollup_retention_s=rollup)
        path = env.get("MESHQ_FLOWS_PATH", "")
        if path:
            return cls.embedded(path, database, retention_s=raw, rollup_retention_s=rollup)
        return None

    def close(self) -> None:
        self.backend.close()

    # --- writing

    def insert(self, records: pa.Table, received: float, batch_id: str) -> int:
        """Store one decoded batch (the decoder's :data:`SCHEMA`) received at ``received``
        (epoch seconds); a batch id stored before (within :data:`DEDUP_WINDOW`) is skipped by
        the engine. Returns the rows sent."""
        if records.num_rows == 0:
            return 0
        data = records.select(list(SCHEMA.names)).cast(SCHEMA)
        return self._insert_at("flows", data, int(received), "s", batch_id)

    def insert_many(self, batches: Sequence[tuple[pa.Table, float]], token: str) -> int:
        """Several decoded batches (each with the time it was received) in one insert, under
        one deduplication token (the same token again is skipped, as in :meth:`insert`): one
        part per table for all of them. Returns the rows sent."""
        data = self.flow_rows(batches)
        if data is None:
            return 0
        self.backend.insert(self.flows_table, data, INSERT_SETTINGS, {"batch": token[:200]})
        return data.num_rows

    @property
    def flows_table(self) -> str:
        """The raw table, qualified by the database (the rollups' views fill from it)."""
        return f"{self.database}.flows"

    @property
    def counters_table(self) -> str:
        return f"{self.database}.flow_if_counters"

    @staticmethod
    def flow_rows(batches: Sequence[tuple[pa.Table, float]]) -> pa.Table | None:
        """The rows :meth:`insert_many` writes to the raw table for ``batches`` (None: no
        rows): the decoder's columns after each batch's time."""
        parts = []
        for records, received in batches:
            if records.num_rows:
                data = records.select(list(SCHEMA.names)).cast(SCHEMA)
                stamp = pa.array(np.full(data.num_rows, int(received), dtype="int64")).cast(
                    pa.timestamp("s", tz="UTC")
                )
                parts.append(data.add_column(0, "time", stamp))
        return pa.concat_tables(parts) if parts else None

    @staticmethod
    def counter_rows(batches: Sequence[tuple[pa.Table, float]]) -> pa.Table | None:
        """The rows :meth:`insert_counters_many` writes for ``batches`` (None: no rows)."""
        parts = []
        for counters, received in batches:
            if counters.num_rows:
                data = counters.select(list(COUNTER_SCHEMA.names)).cast(COUNTER_SCHEMA)
                stamp = pa.array(
                    np.full(data.num_rows, round(received * 1000), dtype="int64")
                ).cast(pa.timestamp("ms", tz="UTC"))
                parts.append(data.add_column(0, "time", stamp))
        return pa.concat_tables(parts) if parts else None

    def insert_counters_many(self, batches: Sequence[tuple[pa.Table, float]], token: str) -> int:
        """Several batches of sFlow counter samples in one insert (see :meth:`insert_many`)."""
        data = self.counter_rows(batches)
        if data is None:
            return 0
        self.backend.insert(self.counters_table, data, INSERT_SETTINGS, {"batch": token[:200]})
        return data.num_rows

    def record_status(
        self, statuses: Sequence[ExporterStatus], updated: float | None = None
    ) -> None:
        if not statuses:
            return
        now = time.time() if updated is None else updated
        rows = {
            "exporter": [s.exporter for s in statuses],
            "updated": [int(now * 1000)] * len(statuses),
            "last_packet": [int(s.last_packet * 1000) for s in statuses],
            **{c: [getattr(s, c) for s in statuses] for c in _EXPORTER_COLUMNS[3:]},
        }
        table = pa.table(
            {
                name: pa.array(values, pa.int64()).cast(_EXPORTER_SCHEMA.field(name).type)
                if name in ("updated", "last_packet")
                else pa.array(values, _EXPORTER_SCHEMA.field(name).type)
                for name, values in rows.items()
            }
        )
        self.backend.insert(f"{self.database}.flow_exporters", table, "", {})

    def insert_counters(self, counters: pa.Table, received: float, batch_id: str) -> int:
        """Store sFlow counter samples (:data:`~network_discovery.flows.sflow.COUNTER_SCHEMA`
        rows, e.g. from :func:`~network_discovery.flows.sflow.counters_table`) received at
        ``received``; idempotent per batch id as :meth:`insert` is. Returns the rows sent."""
        if counters.num_rows == 0:
            return 0
        data = counters.select(list(COUNTER_SCHEMA.names)).cast(COUNTER_SCHEMA)
        return self._insert_at("flow_if_counters", data, round(received * 1000), "ms", batch_id)

    def _insert_at(self, table: str, data: pa.Table, stamp: int, unit: str, batch_id: str) -> int:
        """Insert ``data`` into ``table`` with a first ``time`` column of ``stamp`` (in
        ``unit``s since the epoch), deduplicated by ``batch_id``; the rows sent."""
        times = pa.array(np.full(data.num_rows, stamp, dtype="int64")).cast(
            pa.timestamp(unit, tz="UTC")
        )
        data = data.add_column(0, "time", times)
        self.backend.insert(
            f"{self.database}.{table}", data, INSERT_SETTINGS, {"batch": batch_id[:200]}
        )
        return data.num_rows

    def record_options(
        self, options: Sequence[DomainOptions], updated: float | None = None
    ) -> None:
        """Keep what exporters' options records told (interface names, sampling rates), per
        exporter, version and observation domain; a later report replaces an earlier one,
        name by name and rate by rate."""
        for table, data in self.option_rows(options, updated):
            self.backend.insert(table, data, "", {})

    def option_rows(
        self, options: Sequence[DomainOptions], updated: float | None = None
    ) -> list[tuple[str, pa.Table]]:
        """The (table, rows) :meth:`record_options` writes: replacing rows (the same rows
        written again change nothing)."""
        now = int((time.time() if updated is None else updated) * 1000)
        names: dict[str, list[Any]] = {k: [] for k in _NAME_COLUMNS}
        rates: dict[str, list[Any]] = {k: [] for k in _SAMPLING_COLUMNS}
        for o in options:
            for if_index, name in o.interface_names.items():
                for k, v in zip(
                    _NAME_COLUMNS,
                    (o.exporter, o.version, o.domain, if_index, name, now),
                    strict=True,
                ):
                    names[k].append(v)
            scoped = [(0, 0, o.sampling_rate)] if o.sampling_rate else []
            scoped += [(1, sampler, rate) for sampler, rate in o.sampler_rates.items()]
            for scope, sampler, rate in scoped:
                for k, v in zip(
                    _SAMPLING_COLUMNS,
                    (o.exporter, o.version, o.domain, scope, sampler, rate, now),
                    strict=True,
                ):
                    rates[k].append(v)
        out = []
        for table, columns, types in (
            (OPTION_TABLES[0], names, _NAME_TYPES),
            (OPTION_TABLES[1], rates, _SAMPLING_TYPES),
        ):
            if columns["exporter"]:
                data = pa.table({k: pa.array(v, types[k]) for k, v in columns.items()})
                out.append((f"{self.database}.{table}", data))
        return out

    # --- reading

    @staticmethod
    def _window(minutes: int, until: float | None) -> dict[str, str]:
        end = time.time() if until is None else until
        end_minute = (int(end) // 60 + 1) * 60  # the current minute included
        since = end_minute - max(1, minutes) * 60
        hours_from, hours_to = -(-since // 3600) * 3600, end_minute // 3600 * 3600
        if hours_from >= hours_to:  # no whole hour: the minutes only
            hours_from = hours_to = since
        return {
            "since": param_text(since),
            "until": param_text(end_minute),
            "hours_from": param_text(hours_from),
            "hours_to": param_text(hours_to),
        }

    def _filters(
        self,
        minutes: int,
        until: float | None,
        exporters: Sequence[str] | None,
        if_index: int,
        limit: int,
    ) -> dict[str, str]:
        if if_index and not exporters:
            raise ValueError("an interface is named by its exporters and its ifIndex")
        return {**self._window(minutes, until), **_selection(exporters, limit, if_index)}

    def top_talkers(
        self,
        by: TopBy = "src",
        *,
        minutes: int = 60,
        until: float | None = None,
        exporters: Sequence[str] | None = None,
        if_index: int = 0,
        limit: int = 10,
    ) -> list[dict[str, Any]]:
        """The addresses, pairs or application ports (protocol and the lower port) carrying
        the most bytes in the last ``minutes`` (whole minutes, the current one included)."""
        if by not in _TOP_KEYS:
            raise ValueError(f"top talkers by src, dst, pair or app, not {by!r}")
        params = self._filters(minutes, until, exporters, if_index, limit)
        if by == "pair":
            table = self._ranked(
                partial(_top_sql, self.database, by, bool(if_index)),
                _bound_pairs(self.database),
                params,
                "bytes",
            )
        else:
            table = self.backend.query(_top_sql(self.database, by, bool(if_index)), params)
        out = []
        for row in table.to_pylist():
            out.append(
                {
                    "src": _addr_text(row["src"]),
                    "dst": _addr_text(row["dst"]),
                    "proto": row["proto"] if by == "app" else None,
                    "port": row["port"] if by == "app" else None,
                    "bytes": int(row["bytes"]),
                    "packets": int(row["packets"]),
                    "flows": int(row["flows"]),
                }
            )
        return out

    def conversations(
        self,
        *,
        minutes: int = 60,
        until: float | None = None,
        exporters: Sequence[str] | None = None,
        if_index: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Address pairs, both directions summed apart (``a`` the lower address)."""
        table = self._ranked(
            partial(_conversations_sql, self.database, bool(if_index)),
            _bound_conversations(self.database),
            self._filters(minutes, until, exporters, if_index, limit),
            "total_bytes",
        )
        rows = table.to_pylist()
        for row in rows:
            row["a"], row["b"] = _addr_text(row["a"]), _addr_text(row["b"])
            for key in ("bytes_a_to_b", "bytes_b_to_a", "packets_a_to_b", "packets_b_to_a"):
                row[key] = int(row[key])
            row["bytes"] = int(row.pop("total_bytes"))
            row["flows"], row["exporters"] = int(row["flows"]), int(row["exporters"])
        return rows

    def _ranked(
        self, sql: Callable[[str], str], bound: str, params: dict[str, str], key: str
    ) -> pa.Table:
        """The ranking ``sql(where)`` (pairs or conversations by bytes, ``LIMIT {limit}``)
        over the window, exact. A window of :data:`BOUND_MINUTES` or more whose whole hours
        hold :attr:`bound_rows` hourly pair rows or more is ranked among
        the pairs whose two ends could carry enough: ranked first over its last whole hour,
        the ``limit``-th of that ranking moved at least ``T`` bytes in the window (so did
        every pair above it), hence so does the ``limit``-th of the window; and a pair that
        moved ``T`` bytes has a source that sent and a destination that received ``T``
        (each end of a conversation, sent and received), in the days the window touches
        (the daily rollups: a few rows per host). The pairs outside ``bound`` (those ends)
        are then left out before grouping, which is most of them when traffic is skewed;
        ties at ``T`` are kept, so the answer and its order are the plain ranking's."""
        since, until = int(params["since"]), int(params["until"])
        hours_to = int(params["hours_to"])
        if until - since < BOUND_MINUTES * 60 or hours_to - 3600 < int(params["hours_from"]):
            return self.backend.query(sql(""), params)
        rows = self.backend.query(
            f"SELECT count() AS n FROM {self.database}.flows_1h WHERE {_HOURS}",  # noqa: S608 - identifiers from this module, values bound
            params,
        )
        if int(rows.column("n")[0].as_py()) < self.bound_rows:
            return self.backend.query(sql(""), params)  # few enough to group them all
        last_hour = {
            **params,
            "since": param_text(hours_to - 3600),
            "until": param_text(hours_to),
            "hours_from": param_text(hours_to - 3600),
        }
        first = self.backend.query(sql(""), last_hour)
        limit = int(params["limit"])
        floor = int(first.column(key)[limit - 1].as_py()) if first.num_rows >= limit else 0
        if floor == 0:  # no bound: every pair
            return self.backend.query(sql(""), params)
        return self.backend.query(sql(bound), {**params, "bound": param_text(floor)})

    def interfaces(
        self,
        *,
        minutes: int = 60,
        until: float | None = None,
        exporters: Sequence[str] | None = None,
        if_index: int = 0,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Per exporter and ifIndex: bytes and packets in (its input interface) and out."""
        table = self.backend.query(
            _interfaces_sql(self.database),
            self._filters(minutes, until, exporters, if_index, limit),
        )
        rows = table.to_pylist()
        out = []
        for r in rows:
            row = {k: (v if k == "exporter" else int(v)) for k, v in r.items()}
            # the records in or out of the interface (a hairpinned one counts in both)
            row["flows"] = row.pop("in_flows") + row.pop("out_flows")
            out.append(row)
        return out

    def exporters(
        self,
        *,
        exporters: Sequence[str] | None = None,
        rate_minutes: int = 5,
        now: float | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Each exporter's last report, with its records per second over the last
        ``rate_minutes`` whole minutes stored."""
        end = time.time() if now is None else now
        since = (int(end) // 60 - rate_minutes) * 60
        table = self.backend.query(
            _status_sql(self.database),
            {"since": param_text(since), **_selection(exporters, limit)},
        )
        out = []
        for row in table.to_pylist():
            recent = row.pop("recent_flows")
            row["rate"] = round(int(recent or 0) / (rate_minutes * 60), 3)
            out.append(row)
        return out

    def interface_counters(
        self,
        *,
        minutes: int = 60,
        until: float | None = None,
        exporters: Sequence[str] | None = None,
        if_index: int = 0,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Per interface (exporter, sFlow sub-agent, ifIndex) that sent counter samples in the
        window: how much its counters grew (octets, packets, errors, discards in and out) over
        the ``seconds`` between its samples, and the rates that makes (``None`` without two
        samples). An interval where a counter went down (a restart, a 32-bit counter's wrap)
        is left out and counted in ``discontinuities``: the figures are over the intervals
        known."""
        table = self.backend.query(
            _counters_sql(self.database),
            self._counter_filters(minutes, until, exporters, if_index, limit),
        )
        out = []
        for row in table.to_pylist():
            seconds = round(float(row.pop("seconds") or 0), 3)
            item: dict[str, Any] = {
                k: (v if k in ("exporter", "last_sample") else int(v or 0)) for k, v in row.items()
            }
            item["seconds"] = seconds
            for direction in ("in", "out"):
                item[f"{direction}_bps"] = (
                    round(item[f"{direction}_octets"] * 8 / seconds, 3) if seconds else None
                )
                item[f"{direction}_pps"] = (
                    round(item[f"{direction}_packets"] / seconds, 3) if seconds else None
                )
            out.append(item)
        return out

    def interface_counter_series(
        self,
        *,
        minutes: int = 60,
        until: float | None = None,
        exporters: Sequence[str] | None = None,
        if_index: int = 0,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Each interval between an interface's counter samples in the window, oldest first:
        when it ended, its ``seconds`` and each counter's increase (``None`` where a counter
        went down: not known)."""
        table = self.backend.query(
            _counter_series_sql(self.database),
            self._counter_filters(minutes, until, exporters, if_index, limit),
        )
        out = []
        for row in table.to_pylist():
            ok = bool(row.pop("ok"))
            item: dict[str, Any] = {
                "exporter": row.pop("exporter"),
                "time": row.pop("time"),
                "seconds": round(float(row.pop("seconds")), 3),
                **{k: int(v) for k, v in row.items() if k not in _DELTA_NAMES},
            }
            for name in _DELTA_NAMES:
                item[name] = int(row[name]) if ok else None
            out.append(item)
        return out

    def _counter_filters(
        self,
        minutes: int,
        until: float | None,
        exporters: Sequence[str] | None,
        if_index: int,
        limit: int,
    ) -> dict[str, str]:
        window = self._window(minutes, until)
        return {
            "since": window["since"],
            "until": window["until"],
            **_selection(exporters, limit, if_index),
        }

    def interface_names(
        self,
        *,
        exporters: Sequence[str] | None = None,
        if_index: int = 0,
        limit: int = MAX_ROWS,
    ) -> list[dict[str, Any]]:
        """The interface names exporters told in options records (ifName/ifDescr by ifIndex),
        per exporter, version and observation domain: the last told of each."""
        table = self.backend.query(
            "SELECT exporter, version, domain, if_index, name, updated "  # noqa: S608 - identifiers from this module, values bound
            f"FROM {self.database}.flow_interface_names FINAL WHERE {_EXPORTERS} "
            "AND ({if_index:UInt32} = 0 OR if_index = {if_index:UInt32}) "
            "ORDER BY exporter, version, domain, if_index LIMIT {limit:UInt32}",
            _selection(exporters, limit, if_index),
        )
        return [
            {**r, "version": int(r["version"]), "domain": int(r["domain"])}
            for r in table.to_pylist()
        ]

    def sampling_rates(
        self, *, exporters: Sequence[str] | None = None, limit: int = MAX_ROWS
    ) -> list[dict[str, Any]]:
        """The sampling rates exporters told in options records, per exporter, version and
        observation domain: the domain's own (``sampler`` None) and each sampler's (its
        samplerId / selectorId); the last told of each."""
        table = self.backend.query(
            "SELECT exporter, version, domain, scope, sampler, rate, updated "  # noqa: S608 - identifiers from this module, values bound
            f"FROM {self.database}.flow_sampling FINAL WHERE {_EXPORTERS} "
            "ORDER BY exporter, version, domain, scope, sampler LIMIT {limit:UInt32}",
            _selection(exporters, limit),
        )
        out = []
        for r in table.to_pylist():
            scope = r.pop("scope")
            out.append({**r, "sampler": int(r["sampler"]) if scope else None})
        return out

    def seen_exporters(self, *, minutes: int = 60, until: float | None = None) -> list[str]:
        """The exporters with records in the window."""
        window = self._window(minutes, until)
        table = self.backend.query(
            f"SELECT DISTINCT exporter FROM {self.database}.flows_src_1m WHERE minute >= "  # noqa: S608 - identifiers from this module, values bound
            "{since:DateTime('UTC')} AND minute < {until:DateTime('UTC')} ORDER BY exporter "
            "LIMIT {limit:UInt32}",
            {**window, "limit": param_text(MAX_ROWS)},
        )
        return [str(v) for v in table.column("exporter").to_pylist()] if table.num_rows else []

    def count(self) -> int:
        table = self.backend.query(f"SELECT count() AS n FROM {self.database}.flows")  # noqa: S608 - identifiers from this module, values bound
        return int(pc.sum(table["n"]).as_py() or 0)
