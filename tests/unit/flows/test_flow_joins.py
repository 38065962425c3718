"""The joins between what the flow store keeps besides records and the Flows answers, on a real
flow store (chdb) and the catalogue's fixture network: interfaces named from options records
where the graph holds no ifIndex (never over the graph), in the queries and in enrichment;
flow bytes beside sFlow counter samples; several bus batches stored in one insert, exactly
once however they are delivered again; the enriched rollup's hourly twin."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.flow_enrich import FlowEnricher
from meshq_graph_engine.flow_enriched import HOURLY, TABLE, EnrichedFlows
from meshq_graph_engine.flow_intake import LEDGER, FlowWriter
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.flows.batch import FlowBatch
from network_discovery.flows.decode import DomainOptions
from network_discovery.flows.sflow import COUNTER_SCHEMA, counters_table
from network_discovery.model import Snapshot
from support.flow_store import fresh_store, records

NETWORK = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"
#: Only Et1 and Et2 of hq-core-01 carry an ifIndex in the graph; Et3 (ifIndex 3) does not.
IF_INDEX = {("hq-core-01", "Et1"): 1, ("hq-core-01", "Et2"): 2}
CORE1 = "10.255.0.2"  # hq-core-01's management address
CORE2 = "10.255.2.6"  # an interface address of hq-core-02
NOW = time.time()
RATE = 160  # bytes a second an sFlow agent counts in on CORE1 ifIndex 3


def _snapshot() -> Snapshot:
    data = yaml.safe_load(NETWORK.read_text())
    for interface in data["interfaces"]:
        index = IF_INDEX.get((interface["device"], interface["name"]))
        if index is not None:
            interface["if_index"] = index
    return Snapshot.model_validate(data)


def _counters(**values: int) -> dict[str, int]:
    row = {name: 0 for name in COUNTER_SCHEMA.names[2:]}
    row.update(if_index=1, if_type=6, if_speed=10**9, if_direction=1, if_status=3)
    row.update(values)
    return row


def _flow(
    exporter: str, src: str, dst: str, nbytes: int, in_if: int, out_if: int
) -> dict[str, Any]:
    return {
        "exporter": exporter,
        "version": 10,
        "proto": 6,
        "src_addr": src,
        "dst_addr": dst,
        "src_port": 40000,
        "dst_port": 443,
        "bytes": nbytes,
        "packets": 10,
        "input_if": in_if,
        "output_if": out_if,
    }


@dataclass
class Lab:
    ctx: QueryContext
    engine: GraphEngine
    graph: EmbeddedStore


@pytest.fixture(scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    graph = EmbeddedStore(tmp_path_factory.mktemp("flowjoins") / "db")
    engine = GraphEngine(graph)
    await engine.start()
    await engine.apply_snapshot(_snapshot())
    flows = fresh_store()
    flows.insert(
        records(
            [
                _flow(CORE1, "10.10.10.101", "10.30.0.10", 5000, 1, 3),  # Et1 in, Et3 out
                _flow(CORE1, "10.30.0.10", "10.10.10.101", 70000, 3, 1),
                _flow(CORE1, "10.10.10.102", "10.30.0.10", 100, 7, 8),
                _flow(CORE2, "10.255.2.1", "10.99.0.20", 2000, 4, 5),
            ]
        ),
        NOW - 30,
        "joins-1",
    )
    flows.record_options(
        [
            # ifIndex 1 named otherwise than the graph: the graph's name stands
            DomainOptions(CORE1, 10, 0, interface_names={1: "Management0", 3: "Et3", 7: "Et7"}),
            DomainOptions(CORE1, 10, 1, interface_names={3: "Ethernet3", 7: "Et9"}),
        ],
        NOW - 60,
    )
    # sFlow counter samples every 10 s over the last 1,700 s: CORE1 ifIndex 3 counting
    # RATE bytes a second in; CORE2 ifIndex 4 from two sub-agents (not one interface) and
    # ifIndex 5 sampled once
    times = [NOW - 1700 + 10 * k for k in range(170)]
    flows.insert_counters_many(
        [
            (counters_table(CORE1, 0, [_counters(if_index=3, in_octets=RATE * 10 * k)]), t)
            for k, t in enumerate(times)
        ],
        "c1",
    )
    flows.insert_counters_many(
        [
            (counters_table(CORE2, agent, [_counters(if_index=4, in_octets=k)]), t)
            for agent in (0, 1)
            for k, t in enumerate(times)
        ],
        "c2",
    )
    flows.insert_counters(counters_table(CORE2, 0, [_counters(if_index=5)]), NOW - 20, "c2-5")
    yield Lab(QueryContext(graph, engine, flows=flows), engine, graph)
    await graph.close()


async def _interfaces(lab: Lab) -> dict[tuple[str, int], dict[str, Any]]:
    rows = (await run_query(REGISTRY, "meshq_flows_interfaces", {"window": "15m"}, lab.ctx)).rows
    return {(r["exporter"], r["if_index"]): r for r in rows}


async def test_interfaces_named_by_the_graph_else_by_options_records(lab: Lab) -> None:
    table = await _interfaces(lab)
    assert (table[(CORE1, 1)]["interface"], table[(CORE1, 1)]["interface_source"]) == (
        "Ethernet1",
        "graph",
    )
    # both domains name ifIndex 3 alike once spelled as the graph spells names
    assert (table[(CORE1, 3)]["interface"], table[(CORE1, 3)]["interface_source"]) == (
        "Ethernet3",
        "options",
    )
    # two domains, two names: none
    assert (table[(CORE1, 7)]["interface"], table[(CORE1, 7)]["interface_source"]) == (None, None)
    assert (table[(CORE1, 8)]["interface"], table[(CORE1, 8)]["interface_source"]) == (None, None)


async def test_flow_bytes_beside_sflow_counter_samples(lab: Lab) -> None:
    table = await _interfaces(lab)
    et3 = table[(CORE1, 3)]
    assert et3["in_bytes"] == 70000 and et3["out_bytes"] == 5000
    assert et3["counter_source"] == "sflow"
    covered = et3["counter_covered_s"]
    # whole intervals in the window (the window ends when the query runs: a slow run sees
    # fewer of the samples written at import)
    assert 0 < covered <= 900 and covered % 10 == 0
    assert (et3["counter_in_bytes"], et3["counter_out_bytes"]) == (RATE * covered, 0)
    # the ratio only where the samples cover at least 90% of the window
    want = round(70000 / (RATE * covered), 4) if covered >= 810 else None
    assert et3["in_ratio"] == want
    assert et3["out_ratio"] is None  # no bytes counted out
    # no counters for ifIndex 1; ifIndex 4 counted by two sub-agents; 5 sampled once
    for key in ((CORE1, 1), (CORE2, 4), (CORE2, 5)):
        row = table[key]
        assert (row["counter_source"], row["counter_in_bytes"], row["in_ratio"]) == (None,) * 3
    # a window the samples cover in part: the figure, not the ratio
    rows = (await run_query(REGISTRY, "meshq_flows_interfaces", {"window": "1h"}, lab.ctx)).rows
    [wide] = [r for r in rows if (r["exporter"], r["if_index"]) == (CORE1, 3)]
    assert (wide["counter_source"], wide["counter_in_bytes"], wide["in_ratio"]) == (
        "sflow",
        RATE * 1690,
        None,
    )


def _batch(batch_id: str, rows: list[dict[str, Any]], received: float, **kw: Any) -> FlowBatch:
    return FlowBatch(CORE1, batch_id, received, records(rows), **kw)


async def test_enrichment_names_if_indexes_from_options_never_over_the_graph(lab: Lab) -> None:
    flows = fresh_store()
    writer = FlowWriter(flows, FlowEnricher(lab.graph, lambda: lab.engine.revision))
    options = (DomainOptions(CORE1, 10, 0, interface_names={1: "Management0", 3: "Et3"}),)
    batches = [
        # the names come in a batch of no rows, before the records that use them
        _batch("e-opt", [], NOW - 40, options=options),
        _batch("e-1", [_flow(CORE1, "10.10.10.101", "10.30.0.10", 500, 1, 3)], NOW - 40),
        # another observation domain: not named by domain 0's options
        _batch(
            "e-2", [{**_flow(CORE1, "10.10.10.101", "10.30.0.10", 50, 3, 1), "domain": 5}], NOW - 40
        ),
    ]
    writer.write(batches, await writer.enrich(batches))
    rows = flows.backend.query(
        "SELECT in_interface, out_interface, in_link, out_link, bytes "
        f"FROM {flows.database}.{TABLE} ORDER BY bytes DESC"
    ).to_pylist()
    assert rows[0] == {
        "in_interface": "hq-core-01|Ethernet1",  # the graph's, not Management0
        "out_interface": "hq-core-01|Ethernet3",  # from the options record
        "in_link": "hq-core-01|Ethernet1<->hq-fw-01|Ethernet1/2",
        "out_link": "hq-acc-02|GigabitEthernet1/0/49<->hq-core-01|Ethernet3",
        "bytes": 500,
    }
    assert (rows[1]["in_interface"], rows[1]["in_link"]) == ("", "")
    assert rows[1]["out_interface"] == "hq-core-01|Ethernet1"
    # a writer started later reads the names the store kept
    later = FlowWriter(flows, FlowEnricher(lab.graph, lambda: lab.engine.revision))
    again = [_batch("e-3", [_flow(CORE1, "10.10.10.101", "10.30.0.10", 7, 3, 1)], NOW - 40)]
    [named] = await later.enrich(again)
    assert named is not None and named["in_interface"].to_pylist() == ["hq-core-01|Ethernet3"]


def _sums(flows: Any) -> tuple[int, int, int]:
    row = flows.backend.query(
        f"SELECT count() AS n, sum(bytes * greatest(sampling_rate, 1)) AS b, "
        f"uniqExact(src_port) AS p FROM {flows.database}.flows"
    ).to_pylist()[0]
    return int(row["n"]), int(row["b"] or 0), int(row["p"])


def test_several_batches_one_insert_each_stored_once() -> None:
    flows = fresh_store()
    writer = FlowWriter(flows, max_rows=25)

    def batch(n: int) -> FlowBatch:
        rows = [
            {**_flow(CORE1, "10.0.0.1", "10.0.0.2", 10 * n + k, 1, 2), "src_port": 1000 * n + k}
            for k in range(10)
        ]
        return _batch(f"w-{n}", rows, NOW - 100 + n)

    first = [batch(n) for n in range(5)]  # 50 rows: inserts of 20, 20, 10
    assert writer.write(first, [None] * 5) == 50
    assert writer.counts["inserts"] == 3
    expected = sum(10 * n + k for n in range(5) for k in range(10))
    assert _sums(flows) == (50, expected, 50)
    # delivered again in part and in other company: only the new batches count
    again = [first[3], first[4], batch(5), first[1]]
    assert writer.write(again, [None] * 4) == 10
    assert writer.counts["already_stored"] == 3
    expected += sum(50 + k for k in range(10))
    assert _sums(flows) == (60, expected, 60)
    # the same group again after its ids were lost: the engine drops it by its token
    flows.backend.execute(f"TRUNCATE TABLE {flows.database}.{LEDGER}")
    assert writer.write(first, [None] * 5) == 50  # sent, and dropped by the engine
    assert _sums(flows) == (60, expected, 60)
    # the rollups count each batch once too
    [top] = flows.top_talkers("pair", minutes=10, until=NOW, limit=1)
    assert top["bytes"] == expected and top["flows"] == 60


def test_enriched_hourly_twin_answers_exactly_across_hours() -> None:
    flows = fresh_store()
    enriched = EnrichedFlows(flows)
    hour = int(NOW) // 3600 * 3600
    blank = FlowEnricher.blank
    # minutes in three hours: 2h before (whole), the hour before (whole), and this one
    sent: list[tuple[int, int, str]] = []
    for i, when in enumerate((hour - 7000, hour - 4000, hour - 3000, hour - 100, hour + 5)):
        nbytes = 1000 * (i + 1)
        table = blank(records([_flow(CORE1, "10.0.0.1", "10.0.0.2", nbytes, 1, 2)]))
        table = table.set_column(
            table.schema.get_field_index("src_site"), "src_site", pa.array(["hq"], pa.string())
        )
        enriched.insert(table, when, f"h-{i}")
        enriched.insert(table, when, f"h-{i}")  # delivered again
        sent.append((when, nbytes, "hq"))
    until = hour + 30
    hourly = flows.backend.query(f"SELECT count() AS n FROM {flows.database}.{HOURLY}")
    assert hourly.column("n").to_pylist() == [3]  # per hour and key

    def expect(minutes: int) -> int:
        since = (until // 60 + 1) * 60 - minutes * 60
        return sum(b for w, b, _ in sent if w // 60 * 60 >= since)

    for minutes in (1, 50, 61, 100, 117, 180, 240):
        ranked = enriched.top("src_site", minutes=minutes, until=until, limit=1)
        total = expect(minutes)
        assert sum(r["bytes"] for r in ranked) == total, minutes
        if total:
            [conv] = enriched.conversations(minutes=minutes, until=until)
            assert conv["bytes"] == total
    # whole hours are read from the hourly table: with the minute table emptied, a window of
    # whole hours still answers, its minutes outside them do not
    flows.backend.execute(f"TRUNCATE TABLE {flows.database}.{TABLE}")
    [top] = enriched.top("src_site", minutes=180, until=until, limit=1)
    assert top["bytes"] == 1000 + 2000 + 3000 + 4000
