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


def test_sflow_counters_and_options_travel_in_batches_of_no_rows() -> None:
    from pathlib import Path

    from network_discovery.flows.batch import COUNTERS_HEADER, OPTIONS_HEADER
    from network_discovery.flows.sflow import decode_sflow
    from support.flow_encode import varlen

    # a real sFlow datagram of seven counter samples (tcpdump's test capture, see
    # tests/fixtures/real/sflow/PROVENANCE.md): its UDP payload starts at byte 42 of the frame
    pcap = Path(__file__).resolve().parents[2] / "fixtures/real/sflow"
    frame = (pcap / "sflow_multiple_counter_30_pdus.pcap").read_bytes()[40 : 40 + 1330]
    payload = frame[42:]
    collector = FlowCollector()
    batcher = FlowBatcher(collector)
    collector.on_records = batcher.add
    collector.datagram(payload, EXPORTER)
    opts = template_set(3, 400, [field_spec(10, 4), field_spec(34, 4), field_spec(82, 0xFFFF)], 1)
    names = [(1000 + i).to_bytes(4, "big") + (0).to_bytes(4, "big") + varlen(b"Gi1/%d" % i)
             for i in range(2500)]  # fmt: skip
    rate = (7).to_bytes(4, "big") + (64).to_bytes(4, "big") + varlen(b"Gi1/x")
    for start in range(0, 2500, 500):
        collector.datagram(ipfix([opts, data_set(400, names[start : start + 500])]), EXPORTER)
    collector.datagram(ipfix([opts, data_set(400, [rate])]), EXPORTER)
    out = [
        decode_record(EXPORTER.encode(), b.value(), {k: v.encode() for k, v in b.headers().items()})
        for b in batcher.take(force=True)
    ]
    assert all(b.records.num_rows == 0 for b in out)
    [counters] = [b.counters for b in out if b.counters is not None]
    assert counters.to_pylist() == [
        {"exporter": EXPORTER, "domain": 2, **c} for c in decode_sflow(payload, EXPORTER).counters
    ]
    options = [o for b in out for o in b.options]
    assert [len(o.interface_names) for o in options] == [2000, 501]  # in chunks
    assert (options[0].domain, options[0].sampling_rate) == (1, 64)
    assert {**options[0].interface_names, **options[1].interface_names}[1499] == "Gi1/499"
    # nothing changed: nothing sent again; a renamed interface: the domain's names again
    assert [b for b in batcher.take(force=True) if b.options] == []
    renamed = (1000).to_bytes(4, "big") + (0).to_bytes(4, "big") + varlen(b"uplink")
    collector.datagram(ipfix([opts, data_set(400, [renamed])]), EXPORTER)
    again = [o for b in batcher.take(force=True) for o in b.options]
    assert sum(len(o.interface_names) for o in again) == 2501
    # what is not such a header is refused
    for header, value, reason in (
        (COUNTERS_HEADER, '[{"domain": 1}]', "counters"),
        (COUNTERS_HEADER, "[" + ",".join(["{}"] * 501) + "]", "counters"),
        (OPTIONS_HEADER, '[{"exporter": "192.0.2.99", "version": 10, "domain": 1}]', "another"),
        (OPTIONS_HEADER, "not json", "options"),
    ):
        with pytest.raises(BatchError, match=reason):
            decode_record(
                EXPORTER.encode(), encode_records(_rows(0)), {**_headers(), header: value.encode()}
            )


async def test_the_intake_stores_counter_samples_and_options_it_reads() -> None:
    import time

    from meshq_graph_engine.flow_intake import FlowWriter
    from network_discovery.flows.batch import FlowBatch
    from network_discovery.flows.decode import DomainOptions
    from network_discovery.flows.sflow import COUNTER_SCHEMA, counters_table
    from support.flow_store import fresh_store

    store = fresh_store()
    writer = FlowWriter(store)
    now = time.time()
    sample = {name: 0 for name in COUNTER_SCHEMA.names[2:]} | {"if_index": 3}
    batches = [
        FlowBatch(
            EXPORTER,
            f"side-{i}",
            now - 30 + 10 * i,
            _rows(0),
            counters=counters_table(EXPORTER, 0, [{**sample, "out_octets": 100 * (i + 1)}]),
            options=(DomainOptions(EXPORTER, 9, 0, 0, {}, {3: "uplink"}),),
        )
        for i in range(3)
    ]
    batches.append(batches[-1])  # delivered again
    assert writer.write(batches, await writer.enrich(batches)) == 0
    [row] = store.interface_counters(until=now)
    assert (row["samples"], row["out_octets"], row["seconds"]) == (3, 200, 20)
    assert [(r["if_index"], r["name"]) for r in store.interface_names()] == [(3, "uplink")]
