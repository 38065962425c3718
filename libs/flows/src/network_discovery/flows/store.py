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
  on every insert, kept ``MESHQ_FLOWS_ROLLUP_RETENTION``;
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from network_discovery.flows.decode import SCHEMA

__all__ = [
    "DEDUP_WINDOW",
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
_SETTINGS = (
    f"SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}, ttl_only_drop_parts = 1"
)


def _rollup_ddl(db: str, name: str, rollup_retention: int) -> list[str]:
    keys = _ROLLUPS[name]
    columns = ", ".join(f"{c} {t}" for c, t, _ in keys)
    order = ", ".join(["minute", "exporter", *(c for c, _, _ in keys)])
    select = ", ".join(e if e == c else f"{e} AS {c}" for c, _, e in keys)
    return [
        f"CREATE TABLE IF NOT EXISTS {db}.{name} (minute DateTime('UTC'), "
        f"exporter LowCardinality(String), {columns}, bytes UInt64, packets UInt64, "
        "flows UInt64) ENGINE = SummingMergeTree((bytes, packets, flows)) "
        f"PARTITION BY toYYYYMMDD(minute) ORDER BY ({order}) "
        f"TTL minute + toIntervalSecond({rollup_retention}) {_SETTINGS}",
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{name}_mv TO {db}.{name} AS "  # noqa: S608 - identifiers from this module
        f"SELECT toStartOfMinute(time) AS minute, exporter, {select}, {_SUMS} "
        f"FROM {db}.flows{_ARRAY_JOIN.get(name, '')} GROUP BY {order}",
        f"ALTER TABLE {db}.{name} MODIFY TTL minute + toIntervalSecond({rollup_retention})",
    ]


def _ddl(db: str, retention: int, rollup_retention: int) -> list[str]:
    columns = ", ".join(f"{c} {_RAW_TYPES[c]}" for c in RAW_COLUMNS)
    return [
        f"CREATE DATABASE IF NOT EXISTS {db}",
        f"CREATE TABLE IF NOT EXISTS {db}.flows ({columns}) "
        "ENGINE = MergeTree PARTITION BY toYYYYMMDD(time) ORDER BY (time, exporter) "
        f"TTL time + toIntervalSecond({retention}) {_SETTINGS}",
        *(stmt for name in _ROLLUPS for stmt in _rollup_ddl(db, name, rollup_retention)),
        f"CREATE TABLE IF NOT EXISTS {db}.flow_exporters (exporter String, "
        "updated DateTime64(3, 'UTC'), last_packet DateTime64(3, 'UTC'), packets UInt64, "
        "records UInt64, dropped UInt64, lost UInt64, received UInt64, templates UInt32, "
        "sampling_rate UInt32, version UInt8) "
        "ENGINE = ReplacingMergeTree(updated) ORDER BY exporter",
        # an existing store takes the retention configured now
        f"ALTER TABLE {db}.flows MODIFY TTL time + toIntervalSecond({retention})",
    ]


_INSERT_SETTINGS = (
    "SETTINGS insert_deduplicate = 1, insert_deduplication_token = {batch:String}, "
    "deduplicate_blocks_in_dependent_materialized_views = 1"
)

#: The conditions every flow query shares: the window and the exporters (none: all).
_WINDOW = (
    "minute >= {since:DateTime('UTC')} AND minute < {until:DateTime('UTC')} "
    "AND (empty({exporters:Array(String)}) OR has({exporters:Array(String)}, exporter))"
)
#: ... and, on ``flows_1m``, the interface (an ifIndex of those exporters, in or out).
_ON_INTERFACE = " AND (input_if = {if_index:UInt32} OR output_if = {if_index:UInt32})"

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


def _top_sql(db: str, by: str, on_interface: bool) -> str:
    columns, group, table = _TOP_KEYS[by]
    where = _WINDOW
    if on_interface:
        if table not in _WITH_INTERFACES:
            table = "flows_1m"
        where = _WINDOW + _ON_INTERFACE
    return (
        f"SELECT {columns}, sum(bytes) AS bytes, sum(packets) AS packets, "  # noqa: S608 - identifiers from this module, values bound
        f"sum(flows) AS flows FROM {db}.{table} WHERE {where} GROUP BY {group} "
        "ORDER BY bytes DESC, packets DESC LIMIT {limit:UInt32}"
    )


def _conversations_sql(db: str, on_interface: bool) -> str:
    where = _WINDOW + _ON_INTERFACE if on_interface else _WINDOW
    return (
        "SELECT least(src_addr, dst_addr) AS a, greatest(src_addr, dst_addr) AS b, "  # noqa: S608 - identifiers from this module, values bound
        "sumIf(bytes, src_addr <= dst_addr) AS bytes_a_to_b, "
        "sumIf(bytes, src_addr > dst_addr) AS bytes_b_to_a, "
        "sumIf(packets, src_addr <= dst_addr) AS packets_a_to_b, "
        "sumIf(packets, src_addr > dst_addr) AS packets_b_to_a, "
        "sum(flows) AS flows, uniqExact(exporter) AS exporters, "
        "sum(bytes) AS total_bytes "
        f"FROM {db}.flows_1m WHERE {where} GROUP BY a, b "
        "ORDER BY total_bytes DESC, a, b LIMIT {limit:UInt32}"
    )


def _interfaces_sql(db: str) -> str:
    return (
        "SELECT exporter, if_index, sumIf(bytes, direction = 0) AS in_bytes, "  # noqa: S608 - identifiers from this module, values bound
        "sumIf(bytes, direction = 1) AS out_bytes, sumIf(packets, direction = 0) AS in_packets, "
        "sumIf(packets, direction = 1) AS out_packets, sumIf(flows, direction = 0) AS in_flows, "
        "sumIf(flows, direction = 1) AS out_flows "
        f"FROM {db}.flows_if_1m WHERE {_WINDOW} AND if_index != 0 "
        "AND ({if_index:UInt32} = 0 OR if_index = {if_index:UInt32}) GROUP BY exporter, if_index "
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
        for statement in _ddl(database, int(retention_s), int(rollup_retention_s)):
            backend.execute(statement)

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
        stamp = pa.array(np.full(data.num_rows, int(received), dtype="int64")).cast(
            pa.timestamp("s", tz="UTC")
        )
        data = data.add_column(0, "time", stamp)
        self.backend.insert(
            f"{self.database}.flows", data, _INSERT_SETTINGS, {"batch": batch_id[:200]}
        )
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

    # --- reading

    @staticmethod
    def _window(minutes: int, until: float | None) -> dict[str, str]:
        end = time.time() if until is None else until
        end_minute = (int(end) // 60 + 1) * 60  # the current minute included
        return {
            "since": param_text(end_minute - minutes * 60),
            "until": param_text(end_minute),
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
        return {
            **self._window(minutes, until),
            "exporters": param_text(list(exporters or [])),
            "if_index": param_text(max(0, min(if_index, 2**32 - 1))),
            "limit": param_text(max(1, min(limit, MAX_ROWS))),
        }

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
        table = self.backend.query(
            _top_sql(self.database, by, bool(if_index)),
            self._filters(minutes, until, exporters, if_index, limit),
        )
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
        table = self.backend.query(
            _conversations_sql(self.database, bool(if_index)),
            self._filters(minutes, until, exporters, if_index, limit),
        )
        rows = table.to_pylist()
        for row in rows:
            row["a"], row["b"] = _addr_text(row["a"]), _addr_text(row["b"])
            for key in ("bytes_a_to_b", "bytes_b_to_a", "packets_a_to_b", "packets_b_to_a"):
                row[key] = int(row[key])
            row["bytes"] = int(row.pop("total_bytes"))
            row["flows"], row["exporters"] = int(row["flows"]), int(row["exporters"])
        return rows

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
            {
                "since": param_text(since),
                "exporters": param_text(list(exporters or [])),
                "limit": param_text(max(1, min(limit, MAX_ROWS))),
            },
        )
        out = []
        for row in table.to_pylist():
            recent = row.pop("recent_flows")
            row["rate"] = round(int(recent or 0) / (rate_minutes * 60), 3)
            out.append(row)
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
