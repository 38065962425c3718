"""Flow batches on the bus: what the collector publishes reads back the same, anything else is
refused with a reason, batches stay under the size limit, and an exporter's counters go out
with its records (or alone, while it only sends templates) and not while it is silent."""

from __future__ import annotations

import pyarrow as pa
import pytest
from network_discovery.flows import FlowCollector
from network_discovery.flows.batch import (
    BATCH_HEADER,
    EXPORTER_HEADER,
    MAX_BATCH_BYTES,
    RECEIVED_HEADER,
    BatchError,
    FlowBatcher,
    decode_record,
    encode_records,
)
from network_discovery.flows.store import ExporterStatus
from support.flow_encode import data_set, field_spec, ipfix, template_set, v4
from support.flow_store import records

EXPORTER = "192.0.2.1"


def _rows(n: int, exporter: str = EXPORTER) -> pa.Table:
    return records(
        [{"exporter": exporter, "src_addr": "10.0.0.1", "dst_addr": "10.0.0.2", "bytes": i}
         for i in range(n)]
    )  # fmt: skip


def _headers(batch_id: str = "b1", received: str = "1700000000.5") -> dict[str, bytes]:
    return {BATCH_HEADER: batch_id.encode(), RECEIVED_HEADER: received.encode()}


def test_a_batch_reads_back_as_it_was_sent() -> None:
    status = ExporterStatus(EXPORTER, 1.5, 3, 2, 0, 0, 2, 1, 0, 10)
    headers = {**_headers(), EXPORTER_HEADER: status.to_json().encode()}
    batch = decode_record(EXPORTER.encode(), encode_records(_rows(3)), headers)
    assert (batch.exporter, batch.batch_id, batch.received) == (EXPORTER, "b1", 1700000000.5)
    assert batch.records.equals(_rows(3))
    assert batch.status == status


@pytest.mark.parametrize(
    ("key", "value", "headers", "reason"),
    [
        (EXPORTER.encode(), encode_records(_rows(1)), {}, "batch id"),
        (EXPORTER.encode(), encode_records(_rows(1)), _headers(received="soon"), "time"),
        (EXPORTER.encode(), encode_records(_rows(1)), _headers(received="-1"), "range"),
        (None, encode_records(_rows(1)), _headers(), "exporter"),
        (EXPORTER.encode(), b"\x00" * 64, _headers(), "Arrow"),
        (EXPORTER.encode(), encode_records(_rows(1, "192.0.2.2")), _headers(), "another"),
        (
            EXPORTER.encode(),
            encode_records(_rows(1)),
            {**_headers(), EXPORTER_HEADER: b"{not json"},
            "counters",
        ),
    ],
    ids=["no-id", "no-time", "bad-time", "no-key", "not-arrow", "foreign-rows", "bad-counters"],
)
def test_what_is_not_a_batch_is_refused(
    key: bytes | None, value: bytes, headers: dict[str, bytes], reason: str
) -> None:
    with pytest.raises(BatchError, match=reason):
        decode_record(key, value, headers)


def test_other_columns_are_refused() -> None:
    sink = pa.BufferOutputStream()
    table = pa.table({"exporter": [EXPORTER], "evil": [1]})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(BatchError, match="columns"):
        decode_record(EXPORTER.encode(), sink.getvalue().to_pybytes(), _headers())


def test_batches_split_by_rows_and_stay_under_the_size_limit() -> None:
    collector = FlowCollector()
    batcher = FlowBatcher(collector, max_rows=1000, max_wait_s=60)
    batcher.add(_rows(2500))
    batches = batcher.take(force=True)
    assert [b.records.num_rows for b in batches] == [1000, 1000, 500]
    assert len({b.batch_id for b in batches}) == 3
    assert all(len(b.value()) < MAX_BATCH_BYTES for b in batches)
    big = FlowBatcher(collector, max_rows=100_000, max_wait_s=60)
    big.add(_rows(60_000))
    assert all(len(b.value()) < MAX_BATCH_BYTES for b in big.take(force=True))


def test_counters_go_with_records_or_alone_and_not_while_silent() -> None:
    collector = FlowCollector()
    batcher = FlowBatcher(collector, max_rows=100, max_wait_s=1.0, status_every_s=10.0)
    collector.on_records = batcher.add
    fields = [field_spec(8, 4), field_spec(12, 4), field_spec(1, 4), field_spec(2, 4)]
    template = ipfix([template_set(2, 256, fields)])
    collector.datagram(template, EXPORTER)  # templates only: no records yet
    [alone] = batcher.take(now=1000.0)
    assert alone.records.num_rows == 0 and alone.status is not None
    assert (alone.status.packets, alone.status.templates, alone.status.version) == (1, 1, 10)
    assert batcher.take(now=1100.0) == []  # nothing new from it since
    record = v4("10.0.0.1") + v4("10.0.0.2") + (1500).to_bytes(4, "big") + (3).to_bytes(4, "big")
    collector.datagram(ipfix([data_set(256, [record])]), EXPORTER)
    assert batcher.take(now=0.0) == []  # not due yet: neither full nor old enough
    [with_rows] = batcher.take(force=True)
    assert with_rows.records.num_rows == 1
    assert with_rows.status is not None and with_rows.status.records == 1
