"""The enriched flow rollup: flows per minute with what the graph said of them when they came.

``flows_enriched_1m`` sits beside the flow store's tables (same database, same engine: chdb or
a ClickHouse server, same SQL) and is written by the flow intake after each batch, with the
batch id as its deduplication token. Per minute it keeps, for every exporter, address pair,
protocol, service port (the lower of the two ports) and interface pair, the graph's names
(:data:`~meshq_graph_engine.flow_enrich.ENRICHED_COLUMNS`: the exporter's device, the
interfaces and links crossed there, and each address's device, endpoint, switch port, subnet,
site and firewall zone) as the graph stood at that batch's revision, with bytes and packets
scaled by the sampling rate, and the records. Empty text is unknown. The names are part of the
key: a minute in which the graph changed keeps both answers apart, never one in place of the
other. Kept as long as the store's rollups. Its hourly twin ``flows_enriched_1h`` is filled
from every minute insert; a window reads its whole hours there and the other minutes here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from network_discovery.flows.store import DEDUP_WINDOW, MAX_ROWS, FlowStore, param_text

from meshq_graph_engine.flow_enrich import ENRICHED_COLUMNS, address_text

__all__ = [
    "CUT_REASONS",
    "GROUPS",
    "INSERT_SETTINGS",
    "TABLE",
    "Cut",
    "EnrichedFilters",
    "EnrichedFlows",
]

TABLE = "flows_enriched_1m"
#: Its hourly twin, filled from what is written to the minute table (exact: an hour row is the
#: sum of its minute rows); a window reads its whole hours here and the rest by the minute.
HOURLY = "flows_enriched_1h"
_KEYS = (
    ("exporter", "LowCardinality(String)"),
    ("src_addr", "IPv6"),
    ("dst_addr", "IPv6"),
    ("proto", "UInt8"),
    ("port", "UInt16"),
    ("input_if", "UInt32"),
    ("output_if", "UInt32"),
    *((name, "LowCardinality(String)") for name in ENRICHED_COLUMNS),
)
#: What the top talkers can be ranked by from this table (beyond addresses and ports).
GROUPS = {
    **{
        f"{side}_{name}": f"{side}_{name}"
        for side in ("src", "dst")
        for name in ("site", "zone", "subnet", "device")
    },
    "link": "link",
}
#: The settings of an insert deduplicated by its token (the ``batch`` parameter).
INSERT_SETTINGS = (
    "SETTINGS insert_deduplicate = 1, insert_deduplication_token = {batch:String}, "
    "deduplicate_blocks_in_dependent_materialized_views = 1"
)
_SEP = "<->"


def _table(db: str, name: str, grain: str, retention_s: int) -> str:
    columns = ", ".join(f"{c} {t}" for c, t in _KEYS)
    order = ", ".join([grain, *(c for c, _ in _KEYS)])
    return (
        f"CREATE TABLE IF NOT EXISTS {db}.{name} ({grain} DateTime('UTC'), {columns}, "
        "bytes UInt64, packets UInt64, flows UInt64) "
        "ENGINE = SummingMergeTree((bytes, packets, flows)) "
        f"PARTITION BY toYYYYMMDD({grain}) PRIMARY KEY ({grain}, exporter) ORDER BY ({order}) "
        f"TTL {grain} + toIntervalSecond({int(retention_s)}) "
        f"SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}, ttl_only_drop_parts = 1"
    )


def _ddl(db: str, retention_s: int, backfill: bool = False) -> list[str]:
    """The minute table and its hourly twin; ``backfill``: the hourly one is new beside a
    minute one that may hold rows (filled from them before its view is made)."""
    keys = ", ".join(c for c, _ in _KEYS)
    hourly = (
        f"SELECT toStartOfHour(minute) AS hour, {keys}, sum(bytes) AS bytes, "  # noqa: S608 - identifiers from this module
        f"sum(packets) AS packets, sum(flows) AS flows FROM {db}.{TABLE} GROUP BY hour, {keys}"
    )
    return [
        _table(db, TABLE, "minute", retention_s),
        f"ALTER TABLE {db}.{TABLE} MODIFY TTL minute + toIntervalSecond({int(retention_s)})",
        _table(db, HOURLY, "hour", retention_s),
        *([f"INSERT INTO {db}.{HOURLY} {hourly}"] if backfill else []),
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{HOURLY}_mv TO {db}.{HOURLY} AS {hourly}",
        f"ALTER TABLE {db}.{HOURLY} MODIFY TTL hour + toIntervalSecond({int(retention_s)})",
    ]


@dataclass(frozen=True)
class EnrichedFilters:
    """What a question narrows the flows to (empty: any)."""

    exporters: tuple[str, ...] = ()
    if_index: int = 0
    src_site: str = ""
    dst_site: str = ""
    src_zone: str = ""
    dst_zone: str = ""

    @property
    def any(self) -> bool:
        return bool(self.src_site or self.dst_site or self.src_zone or self.dst_zone)


@dataclass(frozen=True)
class Cut:
    """A failure as flows see it: the devices that fail (flows exported there cross them),
    the interfaces and links that fail, and the devices left without a path upstream (an
    address held by one, or an endpoint located on one, is isolated)."""

    devices: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    isolated: tuple[str, ...] = ()


#: The reasons a conversation is cut, as bits of ``cut``.
CUT_REASONS = (
    (1, "through_failed_device"),
    (2, "through_failed_interface"),
    (4, "over_failed_link"),
    (8, "a_isolated"),
    (16, "b_isolated"),
)

_FILTERS = (
    "(empty({exporters:Array(String)}) OR has({exporters:Array(String)}, exporter)) "
    "AND ({if_index:UInt32} = 0 OR input_if = {if_index:UInt32} "
    "OR output_if = {if_index:UInt32}) "
    "AND ({src_site:String} = '' OR src_site = {src_site:String}) "
    "AND ({dst_site:String} = '' OR dst_site = {dst_site:String}) "
    "AND ({src_zone:String} = '' OR src_zone = {src_zone:String} "
    "OR endsWith(src_zone, concat('|zone|', {src_zone:String}))) "
    "AND ({dst_zone:String} = '' OR dst_zone = {dst_zone:String} "
    "OR endsWith(dst_zone, concat('|zone|', {dst_zone:String})))"
)
#: The window: its whole hours from the hourly table, the minutes outside them from the minute
#: one (as the flow store's rollups are read).
_HOURS = "hour >= {hours_from:DateTime('UTC')} AND hour < {hours_to:DateTime('UTC')}"
_MINUTES = (
    "minute >= {since:DateTime('UTC')} AND minute < {until:DateTime('UTC')} "
    "AND (minute < {hours_from:DateTime('UTC')} OR minute >= {hours_to:DateTime('UTC')})"
)
_ISOLATED = (
    "has({{isolated:Array(String)}}, {side}_device) "
    "OR has({{isolated:Array(String)}}, splitByChar('|', {side}_switch_port)[1]) "
    "OR has({{interfaces:Array(String)}}, {side}_switch_port)"
)
_CUT = (
    "if(has({devices:Array(String)}, exporter_device), 1, 0) "
    "+ if(has({interfaces:Array(String)}, in_interface) "
    "OR has({interfaces:Array(String)}, out_interface), 2, 0) "
    "+ if(has({links:Array(String)}, in_link) OR has({links:Array(String)}, out_link), 4, 0) "
    f"+ if({_ISOLATED.format(side='src')}, if(src_addr <= dst_addr, 8, 16), 0) "
    f"+ if({_ISOLATED.format(side='dst')}, if(src_addr <= dst_addr, 16, 8), 0)"
)


class EnrichedFlows:
    """``flows_enriched_1m`` of a flow store: batches in, rankings and conversations out."""

    def __init__(self, store: FlowStore) -> None:
        self.store = store
        self.backend = store.backend
        self.table = f"{store.database}.{TABLE}"
        self.hourly = f"{store.database}.{HOURLY}"
        present = {
            str(name)
            for name in store.backend.query(
                "SELECT name FROM system.tables WHERE database = {db:String} "
                "AND name IN {names:Array(String)}",
                {"db": store.database, "names": param_text([TABLE, HOURLY])},
            )
            .column("name")
            .to_pylist()
        }
        backfill = TABLE in present and HOURLY not in present
        for statement in _ddl(store.database, store.rollup_retention_s, backfill):
            self.backend.execute(statement)

    def _source(self) -> str:
        """The rows of the window and filters, from the hourly and the minute table."""
        columns = ", ".join([*(c for c, _ in _KEYS), "bytes", "packets", "flows"])
        return (
            f"(SELECT {columns} FROM {self.hourly} WHERE {_HOURS} AND {_FILTERS} "  # noqa: S608 - identifiers from this module, values bound
            f"UNION ALL SELECT {columns} FROM {self.table} WHERE {_MINUTES} AND {_FILTERS})"
        )

    # --- writing

    def insert(self, enriched: pa.Table, received: float, batch_id: str) -> int:
        """One enriched batch (the decoder's columns and the enrichment's), folded per key;
        a batch id stored before is skipped. Returns the rows written."""
        return self.insert_many([(enriched, received)], batch_id)

    def insert_many(self, batches: Sequence[tuple[pa.Table, float]], token: str) -> int:
        """Several enriched batches (each with the time it was received) in one insert under
        one deduplication token. Returns the rows written."""
        out = self.rows_many(batches)
        if out is None:
            return 0
        self.backend.insert(self.table, out, INSERT_SETTINGS, {"batch": token[:200]})
        return out.num_rows

    @staticmethod
    def rows_many(batches: Sequence[tuple[pa.Table, float]]) -> pa.Table | None:
        """The rows :meth:`insert_many` writes for ``batches``, folded per minute and key
        (None: no rows)."""
        folded = [_fold(t, r) for t, r in batches if t.num_rows]
        return pa.concat_tables(folded) if folded else None

    # --- reading

    @staticmethod
    def _params(
        minutes: int, until: float | None, filters: EnrichedFilters, limit: int
    ) -> dict[str, str]:
        return {
            **FlowStore._window(minutes, until),
            "exporters": param_text(list(filters.exporters)),
            "if_index": param_text(max(0, min(filters.if_index, 2**32 - 1))),
            "src_site": filters.src_site,
            "dst_site": filters.dst_site,
            "src_zone": filters.src_zone,
            "dst_zone": filters.dst_zone,
            "limit": param_text(max(1, min(limit, MAX_ROWS))),
        }

    def top(
        self,
        by: str,
        *,
        minutes: int = 60,
        until: float | None = None,
        filters: EnrichedFilters = EnrichedFilters(),
        limit: int = 10,
    ) -> list[dict[str, Any]]:
        """The top ``by`` (src, dst, pair, app or one of :data:`GROUPS`) by bytes."""
        none = "toIPv6('::')"
        plain = {
            "src": (f"src_addr AS src, {none} AS dst, 0 AS proto, 0 AS port", "src_addr"),
            "dst": (f"{none} AS src, dst_addr AS dst, 0 AS proto, 0 AS port", "dst_addr"),
            "pair": ("src_addr AS src, dst_addr AS dst, 0 AS proto, 0 AS port", "src, dst"),
            "app": (f"{none} AS src, {none} AS dst, proto, port", "proto, port"),
        }
        join = ""
        if by in plain:
            columns, group = plain[by]
            columns += ", '' AS grp"
        elif by in GROUPS:
            value = "grp" if by == "link" else f"toString({GROUPS[by]}) AS grp"
            columns, group = f"{none} AS src, {none} AS dst, 0 AS proto, 0 AS port, {value}", "grp"
            if by == "link":
                # each link a flow crosses at its exporter, once
                join = (
                    " ARRAY JOIN arrayDistinct(arrayFilter(x -> x != '', "
                    "[toString(in_link), toString(out_link)])) AS grp"
                )
        else:
            raise ValueError(f"cannot rank flows by {by!r}")
        sql = (
            f"SELECT {columns}, sum(bytes) AS bytes, sum(packets) AS packets, "  # noqa: S608 - identifiers from this module, values bound
            f"sum(flows) AS flows FROM {self._source()}{join} GROUP BY {group} "
            "ORDER BY bytes DESC, packets DESC LIMIT {limit:UInt32}"
        )
        rows = self.backend.query(sql, self._params(minutes, until, filters, limit)).to_pylist()
        return [
            {
                "src": address_text(r["src"]),
                "dst": address_text(r["dst"]),
                "proto": r["proto"] if by == "app" else None,
                "port": r["port"] if by == "app" else None,
                "group": (r["grp"] or None) if by in GROUPS else None,
                "bytes": int(r["bytes"]),
                "packets": int(r["packets"]),
                "flows": int(r["flows"]),
            }
            for r in rows
        ]

    def conversations(
        self,
        *,
        minutes: int = 60,
        until: float | None = None,
        filters: EnrichedFilters = EnrichedFilters(),
        cut: Cut | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Address pairs (``a`` the lower), both directions apart; with ``cut``, only the
        pairs a failure cuts, each with the reasons (:data:`CUT_REASONS`) in ``cut``."""
        params: dict[str, str] = self._params(minutes, until, filters, limit)
        having, reasons = "", "0 AS cut"
        if cut is not None:
            params.update(_cut_params(cut))
            reasons = f"groupBitOr({_CUT}) AS cut"
            having = " HAVING cut != 0"
        sql = (
            "SELECT least(src_addr, dst_addr) AS a, greatest(src_addr, dst_addr) AS b, "  # noqa: S608 - identifiers from this module, values bound
            "sumIf(bytes, src_addr <= dst_addr) AS bytes_a_to_b, "
            "sumIf(bytes, src_addr > dst_addr) AS bytes_b_to_a, "
            "sumIf(packets, src_addr <= dst_addr) AS packets_a_to_b, "
            "sumIf(packets, src_addr > dst_addr) AS packets_b_to_a, "
            "sum(flows) AS flows, uniqExact(exporter) AS exporters, "
            f"sum(bytes) AS total_bytes, {reasons} "
            f"FROM {self._source()} GROUP BY a, b{having} "
            "ORDER BY total_bytes DESC, a, b LIMIT {limit:UInt32}"
        )
        out = []
        for r in self.backend.query(sql, params).to_pylist():
            row: dict[str, Any] = {
                k: int(v) for k, v in r.items() if k not in ("a", "b", "cut", "total_bytes")
            }
            row["a"], row["b"] = address_text(r["a"]), address_text(r["b"])
            row["bytes"] = int(r["total_bytes"])
            row["cut"] = [name for bit, name in CUT_REASONS if int(r["cut"]) & bit] or None
            out.append(row)
        return out


def _fold(enriched: pa.Table, received: float) -> pa.Table:
    """One enriched batch folded per key in the minute it was received."""
    scale = pc.max_element_wise(enriched["sampling_rate"].cast(pa.uint64()), 1)
    ports = pc.min_element_wise(enriched["src_port"], enriched["dst_port"])
    keys = [c for c, _ in _KEYS]
    data = pa.table(
        {
            **{c: enriched[c] for c in keys if c != "port"},
            "port": ports,
            "b": pc.multiply(enriched["bytes"].cast(pa.uint64()), scale),
            "p": pc.multiply(enriched["packets"].cast(pa.uint64()), scale),
        }
    )
    folded = data.group_by(keys, use_threads=False).aggregate(
        [("b", "sum"), ("p", "sum"), ("b", "count")]
    )
    minute = int(received) // 60 * 60
    return pa.table(
        {
            "minute": pa.array(np.full(folded.num_rows, minute, dtype="int64")).cast(
                pa.timestamp("s", tz="UTC")
            ),
            **{c: folded[c] for c in keys},
            "bytes": folded["b_sum"].cast(pa.uint64()),
            "packets": folded["p_sum"].cast(pa.uint64()),
            "flows": folded["b_count"].cast(pa.uint64()),
        }
    )


def _cut_params(cut: Cut) -> Mapping[str, str]:
    def listed(values: Sequence[str]) -> str:
        return param_text(sorted(set(values)))

    return {
        "devices": listed(cut.devices),
        "interfaces": listed(cut.interfaces),
        "links": listed(cut.links),
        "isolated": listed(cut.isolated),
    }
