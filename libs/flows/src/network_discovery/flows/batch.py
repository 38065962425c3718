"""Flow records on the bus: batches of the decoder's columns per exporter, as Arrow IPC streams.

A record of ``meshq.flows.records`` is keyed by the exporter's address; its value is one Arrow
IPC stream of :data:`~network_discovery.flows.SCHEMA` (possibly of no rows: a report of the
exporter's counters alone); its headers carry

- ``x-meshq-batch``: the batch id, unique per batch, which the flow store deduplicates on (a
  batch delivered twice is stored once);
- ``x-meshq-received``: when the batch's last datagram arrived (epoch seconds);
- ``x-meshq-exporter``: the exporter's counters as JSON
  (:class:`~network_discovery.flows.store.ExporterStatus`);
- ``x-meshq-if-counters`` (batches of no rows only): sFlow counter samples' generic interface
  counters as a JSON list (at most :data:`MAX_COUNTER_ROWS`), each with its sub-agent
  (``domain``) and the fields of :data:`~network_discovery.flows.sflow.COUNTER_SCHEMA`;
- ``x-meshq-options`` (batches of no rows only): what options records told, a JSON list of
  :class:`~network_discovery.flows.decode.DomainOptions` (sampling rates, interface names; at
  most :data:`MAX_OPTION_NAMES` names in all), sent again whenever they change.

:class:`FlowBatcher` builds them from a :class:`~network_discovery.flows.FlowCollector`'s
output; :func:`decode_record` reads one back, refusing anything that is not such a batch.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from network_discovery.flows.decode import SCHEMA, DomainOptions
from network_discovery.flows.listener import FlowCollector
from network_discovery.flows.sflow import COUNTER_SCHEMA
from network_discovery.flows.store import ExporterStatus

__all__ = [
    "BATCH_HEADER",
    "CONTENT_TYPE",
    "COUNTERS_HEADER",
    "EXPORTER_HEADER",
    "MAX_BATCH_BYTES",
    "OPTIONS_HEADER",
    "RECEIVED_HEADER",
    "BatchError",
    "FlowBatch",
    "FlowBatcher",
    "decode_record",
    "encode_records",
]

BATCH_HEADER = "x-meshq-batch"
RECEIVED_HEADER = "x-meshq-received"
EXPORTER_HEADER = "x-meshq-exporter"
COUNTERS_HEADER = "x-meshq-if-counters"
OPTIONS_HEADER = "x-meshq-options"
#: Counter sample rows one batch carries (about 500 bytes of JSON each).
MAX_COUNTER_ROWS = 500
#: Interface names one batch carries, over all its domains.
MAX_OPTION_NAMES = 2_000
#: Domains one batch's options may name.
MAX_OPTION_DOMAINS = 64
_COUNTER_FIELDS = COUNTER_SCHEMA.names[1:]  # the domain, then the counters
_COUNTER_TOP = {
    f.name: (2**32 - 1 if f.type == pa.uint32() else 2**64 - 1) for f in list(COUNTER_SCHEMA)[1:]
}
CONTENT_TYPE = "application/vnd.apache.arrow.stream"
#: The largest value a batch is encoded to (under a broker's default 1 MiB message limit).
MAX_BATCH_BYTES = 768 * 1024
#: Rows a record may hold when read back.
MAX_ROWS = 1_000_000


_EMPTY = SCHEMA.empty_table()


class BatchError(ValueError):
    """A bus record that is not a flow batch."""


@dataclass(frozen=True)
class FlowBatch:
    exporter: str
    batch_id: str
    received: float
    records: pa.Table
    status: ExporterStatus | None = None
    #: sFlow counter samples (:data:`~network_discovery.flows.sflow.COUNTER_SCHEMA`)
    counters: pa.Table | None = None
    options: tuple[DomainOptions, ...] = ()

    def headers(self) -> dict[str, str]:
        out = {
            "content-type": CONTENT_TYPE,
            BATCH_HEADER: self.batch_id,
            RECEIVED_HEADER: f"{self.received:.3f}",
        }
        if self.status is not None:
            out[EXPORTER_HEADER] = self.status.to_json()
        if self.counters is not None and self.counters.num_rows:
            rows = self.counters.select(list(_COUNTER_FIELDS)).to_pylist()
            out[COUNTERS_HEADER] = json.dumps(rows, separators=(",", ":"))
        if self.options:
            out[OPTIONS_HEADER] = json.dumps(
                [o.to_dict() for o in self.options], separators=(",", ":")
            )
        return out

    def value(self) -> bytes:
        return encode_records(self.records)


def encode_records(records: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, SCHEMA) as writer:
        writer.write_table(records.select(SCHEMA.names).cast(SCHEMA))
    return bytes(sink.getvalue().to_pybytes())


def _text(headers: Mapping[str, bytes | str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def decode_record(
    key: bytes | None, value: bytes | None, headers: Mapping[str, bytes | str]
) -> FlowBatch:
    """One bus record as a batch, or :class:`BatchError` saying what is wrong with it."""
    batch_id = _text(headers, BATCH_HEADER)
    if not batch_id or len(batch_id) > 200:
        raise BatchError("no batch id")
    try:
        received = float(_text(headers, RECEIVED_HEADER) or "")
    except ValueError:
        raise BatchError("no time received") from None
    if not 0 < received < 2**33:
        raise BatchError("time received out of range")
    exporter = (key or b"").decode("utf-8", "replace")[:255]
    if not exporter:
        raise BatchError("no exporter (the record's key)")
    try:
        reader = pa.ipc.open_stream(pa.BufferReader(value or b""))
        if not reader.schema.equals(SCHEMA):
            raise BatchError("not the flow decoder's columns")
        batches = []
        rows = 0
        for chunk in reader:
            rows += chunk.num_rows
            if rows > MAX_ROWS:
                raise BatchError(f"more than {MAX_ROWS} rows")
            batches.append(chunk)
        records = pa.Table.from_batches(batches, SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise BatchError(f"not an Arrow stream: {exc}") from None
    if records.num_rows and pc.any(pc.not_equal(records["exporter"], exporter)).as_py():
        raise BatchError("records of another exporter than the key")
    status_text = _text(headers, EXPORTER_HEADER)
    status = None
    if status_text:
        try:
            status = ExporterStatus.from_json(status_text[:4096])
        except (ValueError, KeyError, TypeError) as exc:
            raise BatchError(f"unreadable exporter counters: {exc}") from None
        if status.exporter != exporter:
            raise BatchError("counters of another exporter than the key")
    counters = _counters(exporter, _text(headers, COUNTERS_HEADER))
    options = _options(exporter, _text(headers, OPTIONS_HEADER))
    return FlowBatch(exporter, batch_id, received, records, status, counters, options)


def _counters(exporter: str, text: str | None) -> pa.Table | None:
    if not text:
        return None
    try:
        rows = json.loads(text)
        if not isinstance(rows, list) or len(rows) > MAX_COUNTER_ROWS:
            raise ValueError(f"a list of at most {MAX_COUNTER_ROWS} counter records")
        columns: dict[str, list[int]] = {name: [] for name in _COUNTER_FIELDS}
        for row in rows:
            for name in _COUNTER_FIELDS:
                value = row[name]
                if not isinstance(value, int) or not 0 <= value <= _COUNTER_TOP[name]:
                    raise ValueError(f"{name} out of range")
                columns[name].append(value)
    except (ValueError, KeyError, TypeError) as exc:
        raise BatchError(f"unreadable interface counters: {exc}") from None
    arrays = {"exporter": pa.array([exporter] * len(rows), pa.string())}
    arrays.update({k: pa.array(v, COUNTER_SCHEMA.field(k).type) for k, v in columns.items()})
    return pa.table(arrays, schema=COUNTER_SCHEMA)


def _options(exporter: str, text: str | None) -> tuple[DomainOptions, ...]:
    if not text:
        return ()
    try:
        raw = json.loads(text)
        if not isinstance(raw, list) or len(raw) > MAX_OPTION_DOMAINS:
            raise ValueError(f"a list of at most {MAX_OPTION_DOMAINS} domains")
        options = tuple(DomainOptions.from_dict(o) for o in raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise BatchError(f"unreadable options: {exc}") from None
    if any(o.exporter != exporter for o in options):
        raise BatchError("options of another exporter than the key")
    if sum(len(o.interface_names) for o in options) > MAX_OPTION_NAMES:
        raise BatchError(f"more than {MAX_OPTION_NAMES} interface names")
    return options


@dataclass
class _Pending:
    tables: list[pa.Table] = field(default_factory=list)
    rows: int = 0
    first: float = 0.0
    last: float = 0.0


class FlowBatcher:
    """Records gathered per exporter, handed out as batches when ``max_rows`` are waiting or
    the oldest has waited ``max_wait_s``; every exporter heard from also gets its counters out
    at least every ``status_every_s`` while it sends (a batch of no rows when it sent no
    records)."""

    def __init__(
        self,
        collector: FlowCollector,
        *,
        max_rows: int = 5_000,
        max_wait_s: float = 1.0,
        status_every_s: float = 10.0,
    ) -> None:
        self.collector = collector
        self.max_rows = max(1, max_rows)
        self.max_wait_s = max_wait_s
        self.status_every_s = status_every_s
        self._pending: dict[str, _Pending] = {}
        self._reported: dict[str, float] = {}
        #: packets counted at each exporter's last report: a silent exporter is not reported
        self._reported_packets: dict[str, int] = {}
        self._rates: dict[str, int] = {}
        #: each domain's options serial as last sent
        self._options_sent: dict[tuple[str, int, int], int] = {}

    def add(self, records: pa.Table) -> None:
        """The collector's ``on_records``: one datagram's records (one exporter)."""
        if records.num_rows == 0:
            return
        exporter = str(records["exporter"][0].as_py())
        now = time.time()
        pending = self._pending.setdefault(exporter, _Pending(first=now))
        if not pending.tables:
            pending.first = now
        pending.tables.append(records)
        pending.rows += records.num_rows
        pending.last = now
        rate = pc.max(records["sampling_rate"]).as_py()
        if rate:
            self._rates[exporter] = int(rate)

    def status(self, exporter: str) -> ExporterStatus | None:
        stats = self.collector.exporters.get(exporter)
        if stats is None:
            return None
        versions = [v for v, _ in stats.sequences]
        rate = self._rates.get(exporter, 0) or max(
            (
                s.sampling_rate
                for (e, _, _), s in self.collector.decoder.domains.items()
                if e == exporter
            ),
            default=0,
        )
        return ExporterStatus(
            exporter=exporter,
            last_packet=stats.last_seen,
            packets=stats.packets,
            records=stats.records,
            dropped=stats.dropped,
            lost=stats.lost,
            received=sum(s.received for s in stats.sequences.values()),
            templates=self.collector.decoder.templates_known(exporter),
            sampling_rate=rate,
            version=max(versions, default=0),
        )

    def _split(self, exporter: str, pending: _Pending) -> list[FlowBatch]:
        table = pa.concat_tables(pending.tables)
        # rows per batch so that its stream stays under MAX_BATCH_BYTES
        per_row = max(1, table.nbytes // max(1, table.num_rows))
        step = max(1, min(self.max_rows, MAX_BATCH_BYTES // (per_row + 8)))
        out = []
        for start in range(0, table.num_rows, step):
            out.append(
                FlowBatch(exporter, uuid.uuid4().hex, pending.last, table.slice(start, step), None)
            )
        return out

    def take(self, *, force: bool = False, now: float | None = None) -> list[FlowBatch]:
        """The batches due now (all of them with ``force``); the last batch of each exporter
        carries its counters."""
        now = time.time() if now is None else now
        out: list[FlowBatch] = []
        for exporter in sorted(set(self._pending) | set(self.collector.exporters)):
            pending = self._pending.get(exporter)
            due = (
                pending is not None
                and pending.rows > 0
                and (
                    force or pending.rows >= self.max_rows or now - pending.first >= self.max_wait_s
                )
            )
            stats = self.collector.exporters.get(exporter)
            packets = stats.packets if stats is not None else 0
            report_due = packets != self._reported_packets.get(exporter) and (
                force or now - self._reported.get(exporter, 0.0) >= self.status_every_s
            )
            batches = self._split(exporter, pending) if due and pending is not None else []
            if due:
                self._pending.pop(exporter, None)
            side = self._side_batches(exporter, now)
            if not batches and not report_due:
                out.extend(side)
                continue
            status = self.status(exporter)
            if not batches:
                received = stats.last_seen if stats is not None else now
                empty = SCHEMA.empty_table()
                batches = [FlowBatch(exporter, uuid.uuid4().hex, received or now, empty)]
            last = batches[-1]
            batches[-1] = FlowBatch(
                last.exporter, last.batch_id, last.received, last.records, status
            )
            self._reported[exporter] = now
            self._reported_packets[exporter] = packets
            out.extend(batches)
            out.extend(side)
        return out

    def _side_batches(self, exporter: str, now: float) -> list[FlowBatch]:
        """Batches of no rows carrying ``exporter``'s counter samples, and its domains'
        options where they changed since last sent (every name again, in chunks)."""
        out = []
        counters = self.collector.take_counters(exporter)
        if counters is not None:
            for start in range(0, counters.num_rows, MAX_COUNTER_ROWS):
                chunk = counters.slice(start, MAX_COUNTER_ROWS)
                out.append(FlowBatch(exporter, uuid.uuid4().hex, now, _EMPTY, counters=chunk))
        for (e, version, domain), st in self.collector.decoder.domains.items():
            key = (e, version, domain)
            if e != exporter or self._options_sent.get(key, 0) == st.options_serial:
                continue
            self._options_sent[key] = st.options_serial
            names = sorted(st.interface_names.items())
            first = True
            for start in range(0, max(1, len(names)), MAX_OPTION_NAMES):
                part = DomainOptions(
                    exporter,
                    version,
                    domain,
                    st.sampling_rate if first else 0,
                    dict(st.sampler_rates) if first else {},
                    dict(names[start : start + MAX_OPTION_NAMES]),
                )
                first = False
                out.append(FlowBatch(exporter, uuid.uuid4().hex, now, _EMPTY, options=(part,)))
        return out
