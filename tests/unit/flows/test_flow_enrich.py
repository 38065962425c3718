"""Flow enrichment from the graph, on decoder-made IPFIX records, the catalogue's fixture network
and a real flow store (chdb): the exporter's device, the interfaces and links crossed, each
address's device, endpoint, port, subnet, site and firewall zone (empty where the graph holds
none or several), lookups kept per revision, the enriched rollup (deduplicated per batch,
ranked and filtered by site, zone and link), and the conversations a failure cuts."""

from __future__ import annotations

import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.flow_enrich import ENRICHED_COLUMNS, FlowEnricher
from meshq_graph_engine.flow_enriched import EnrichedFilters, EnrichedFlows
from meshq_graph_engine.flow_intake import FlowWriter
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.flows import FlowDecoder
from network_discovery.flows.batch import FlowBatch
from network_discovery.flows.store import FlowStore
from network_discovery.model import Snapshot
from support.flow_encode import data_set, field_spec, ipfix, template_set, v4
from support.flow_store import fresh_store

NETWORK = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"
IF_INDEX = {("hq-core-01", "Et1"): 1, ("hq-core-01", "Et2"): 2}
CORE1 = "10.255.0.2"  # hq-core-01's management address
UNKNOWN = "192.0.2.99"
DESK = "10.10.10.101"  # desk-101, on hq-acc-01 Gi1/0/1
DB = "10.30.0.10"  # srv-db-01, on dc1-leaf-01 xe-0/0/1
DUP = "10.10.20.2"  # held by hq-core-01 and hq-core-02
PHONE = "10.10.20.50"

# src, dst, proto, ports, octets, packets, ingressInterface (10), egressInterface (14)
FIELDS = [
    field_spec(8, 4),
    field_spec(12, 4),
    field_spec(4, 1),
    field_spec(7, 2),
    field_spec(11, 2),
    field_spec(1, 8),
    field_spec(2, 4),
    field_spec(10, 4),
    field_spec(14, 4),
]


def _flow(
    src: str, dst: str, proto: int, sp: int, dp: int, octets: int, pkts: int, i: int, o: int
) -> bytes:
    return v4(src) + v4(dst) + struct.pack("!BHHQIII", proto, sp, dp, octets, pkts, i, o)


def _decoded(exporter: str, flows: list[bytes]) -> pa.Table:
    """What the collector's decoder makes of one IPFIX datagram from ``exporter``."""
    out = FlowDecoder().decode(
        ipfix([template_set(2, 256, FIELDS), data_set(256, flows)]), exporter
    )
    assert out is not None
    return out.records


def _core1_records() -> pa.Table:
    return _decoded(
        CORE1,
        [
            _flow(DESK, DB, 6, 51000, 5432, 4000, 40, 2, 1),  # in Et2 (from hq-acc-01), out Et1
            _flow(DB, DESK, 6, 5432, 51000, 90000, 60, 1, 2),
            _flow(DUP, PHONE, 17, 5060, 5060, 300, 3, 1, 3),  # ifIndex 3: the graph has none
        ],
    )


def _unknown_records() -> pa.Table:
    return _decoded(UNKNOWN, [_flow("192.168.1.77", "8.8.8.8", 17, 40001, 53, 10, 1, 7, 8)])


def _snapshot(if_index: dict[tuple[str, str], int], snapshot_id: str) -> Snapshot:
    data = yaml.safe_load(NETWORK.read_text())
    data["snapshot_id"] = snapshot_id
    for interface in data["interfaces"]:
        index = if_index.get((interface["device"], interface["name"]))
        if index is not None:
            interface["if_index"] = index
    return Snapshot.model_validate(data)


@dataclass
class Lab:
    graph: EmbeddedStore
    engine: GraphEngine
    flows: FlowStore
    enricher: FlowEnricher


@pytest.fixture(scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    graph = EmbeddedStore(tmp_path_factory.mktemp("flowenrich") / "db")
    engine = GraphEngine(graph)
    await engine.start()
    await engine.apply_snapshot(_snapshot(IF_INDEX, "flows-enrich-1"))
    flows = fresh_store()
    enricher = FlowEnricher(graph, lambda: engine.revision)
    now = time.time()
    for batch_id, records in (("b-core1", _core1_records()), ("b-unknown", _unknown_records())):
        flows.insert(records, now - 30, batch_id)
        EnrichedFlows(flows).insert(await enricher.enrich(records), now - 30, batch_id)
    yield Lab(graph, engine, flows, enricher)
    await graph.close()


def _by_pair(table: pa.Table) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for row in table.to_pylist():
        src = ".".join(str(b) for b in row["src_addr"][12:])
        dst = ".".join(str(b) for b in row["dst_addr"][12:])
        out[(src, dst)] = row
    return out


async def test_enrichment_names_what_the_graph_holds(lab: Lab) -> None:
    rows = _by_pair(await lab.enricher.enrich(_core1_records()))
    desk = rows[(DESK, DB)]
    assert {k: desk[k] for k in ENRICHED_COLUMNS} == {
        "exporter_device": "hq-core-01",
        "in_interface": "hq-core-01|Ethernet2",
        "out_interface": "hq-core-01|Ethernet1",
        "in_link": "hq-acc-01|GigabitEthernet1/0/49<->hq-core-01|Ethernet2",
        "out_link": "hq-core-01|Ethernet1<->hq-fw-01|Ethernet1/2",
        "src_device": "",  # an endpoint's address: no device interface holds it
        "src_endpoint": "00:50:56:01:01:01",
        "src_switch_port": "hq-acc-01|GigabitEthernet1/0/1",
        "src_subnet": "10.10.10.0/24",
        "src_site": "hq",
        # hq-fw-01 routes 10.10.0.0/16 to both cores, through trust's two interfaces
        "src_zone": "hq-fw-01|zone|trust",
        "dst_device": "",
        "dst_endpoint": "00:25:90:ff:00:02",
        "dst_switch_port": "dc1-leaf-01|xe-0/0/1",
        "dst_subnet": "10.30.0.0/24",
        "dst_site": "dc1",
        # nothing narrower than its default route, through untrust
        "dst_zone": "hq-fw-01|zone|untrust",
    }
    # the decoder's columns are kept as they were
    assert (desk["bytes"], desk["packets"], desk["input_if"], desk["output_if"]) == (4000, 40, 2, 1)
    dup = rows[(DUP, PHONE)]
    # two devices hold 10.10.20.2: no device, and so no site; ifIndex 3 is unknown
    assert (dup["src_device"], dup["src_site"], dup["src_subnet"]) == ("", "", "10.10.20.0/24")
    assert (dup["in_interface"], dup["out_interface"], dup["out_link"]) == (
        "hq-core-01|Ethernet1",
        "",
        "",
    )
    assert dup["dst_endpoint"] == "00:1b:54:0a:0b:0c"
    (unknown,) = (await lab.enricher.enrich(_unknown_records())).to_pylist()
    assert unknown["exporter_device"] == ""
    assert (unknown["in_interface"], unknown["in_link"]) == ("", "")
    assert unknown["src_switch_port"] == "hq-acc-02|GigabitEthernet1/0/1"  # laptop-guest
    assert unknown["dst_endpoint"] == unknown["dst_site"] == unknown["dst_subnet"] == ""


async def test_lookups_are_read_once_per_revision(tmp_path: Path) -> None:
    graph = EmbeddedStore(tmp_path / "db")
    engine = GraphEngine(graph)
    await engine.start()
    try:
        await engine.apply_snapshot(_snapshot(IF_INDEX, "flows-enrich-rev-1"))
        enricher = FlowEnricher(graph, lambda: engine.revision)
        first = _by_pair(await enricher.enrich(_core1_records()))[(DESK, DB)]
        kept = enricher.lookups
        await enricher.enrich(_core1_records())
        assert enricher.lookups is kept  # same revision: nothing read again
        assert first["in_interface"] == "hq-core-01|Ethernet2"
        # the device now reports Et2 as ifIndex 5: ifIndex 2 names nothing any more
        moved = {("hq-core-01", "Et1"): 1, ("hq-core-01", "Et2"): 5}
        await engine.apply_snapshot(_snapshot(moved, "flows-enrich-rev-2"))
        again = _by_pair(await enricher.enrich(_core1_records()))[(DESK, DB)]
        assert enricher.lookups is not kept
        assert enricher.lookups is not None and enricher.lookups.revision == engine.revision
        assert (again["in_interface"], again["in_link"]) == ("", "")
        assert again["out_interface"] == "hq-core-01|Ethernet1"
    finally:
        await graph.close()


async def test_enriched_rollup_is_stored_once_per_batch_and_ranked(lab: Lab) -> None:
    enriched = EnrichedFlows(lab.flows)
    # the same batch again (a redelivery) adds nothing
    enriched.insert(await lab.enricher.enrich(_core1_records()), time.time() - 30, "b-core1")
    by_site = {r["group"]: r["bytes"] for r in enriched.top("src_site", limit=10)}
    assert by_site == {"dc1": 90000, "hq": 4010, None: 300}
    by_zone = {r["group"]: r["bytes"] for r in enriched.top("dst_zone", limit=10)}
    assert by_zone == {"hq-fw-01|zone|trust": 90300, "hq-fw-01|zone|untrust": 4010}
    links = {r["group"]: r["flows"] for r in enriched.top("link", limit=10)}
    assert links == {
        "hq-core-01|Ethernet1<->hq-fw-01|Ethernet1/2": 3,
        "hq-acc-01|GigabitEthernet1/0/49<->hq-core-01|Ethernet2": 2,
    }
    # a zone by its name or its id; a site on either side
    for zone in ("trust", "hq-fw-01|zone|trust"):
        pairs = enriched.top("pair", filters=EnrichedFilters(src_zone=zone), limit=10)
        assert {(r["src"], r["dst"]) for r in pairs} == {(DESK, DB), (DUP, PHONE)}
    rows = enriched.conversations(filters=EnrichedFilters(dst_site="dc1"), limit=10)
    assert [(r["a"], r["b"], r["bytes_a_to_b"], r["bytes_b_to_a"]) for r in rows] == [
        (DESK, DB, 4000, 0)
    ]
    assert enriched.top("src", filters=EnrichedFilters(src_site="nowhere")) == []


async def _rows(lab: Lab, name: str, **params: Any) -> list[dict[str, Any]]:
    ctx = QueryContext(lab.graph, lab.engine, flows=lab.flows)
    return (await run_query(REGISTRY, name, params, ctx)).rows


async def test_queries_rank_and_filter_by_what_the_graph_said(lab: Lab) -> None:
    rows = await _rows(lab, "meshq_flows_top_talkers", by="src_zone")
    assert [(r["group"], r["bytes"]) for r in rows] == [
        ("hq-fw-01|zone|untrust", 90010),
        ("hq-fw-01|zone|trust", 4300),
    ]
    rows = await _rows(lab, "meshq_flows_top_talkers", by="src", dst_site="dc1")
    assert [(r["src"], r["src_endpoint"]) for r in rows] == [(DESK, "00:50:56:01:01:01")]
    # the exporter filters still apply on the enriched rollup
    rows = await _rows(
        lab, "meshq_flows_conversations", device="hq-core-01", interface="Et2", src_zone="trust"
    )
    assert [(r["a"], r["b"]) for r in rows] == [(DESK, DB)]
    assert rows[0]["cut"] is None


async def test_conversations_a_failure_cuts(lab: Lab) -> None:
    async def cut(**params: Any) -> dict[tuple[str, str], list[str]]:
        rows = await _rows(lab, "meshq_flows_conversations", **params)
        return {(r["a"], r["b"]): r["cut"] for r in rows}

    # hq-core-01 exported these flows: they cross it. desk-101 and phone-110 sit on hq-acc-01,
    # which keeps its uplink to hq-core-02; srv-db-01's leaf (dc1-leaf-01) and laptop-guest's
    # switch (hq-acc-02) hang off hq-core-01 alone: those ends are isolated
    assert await cut(failed_device="hq-core-01") == {
        (DESK, DB): ["through_failed_device", "over_failed_link", "b_isolated"],
        (DUP, PHONE): ["through_failed_device", "over_failed_link"],
        ("8.8.8.8", "192.168.1.77"): ["b_isolated"],
    }
    # hq-acc-01 fails: the desk's and the phone's switch is gone, and the flows came over
    # its uplink
    assert await cut(failed_device="hq-acc-01") == {
        (DESK, DB): ["over_failed_link", "a_isolated"],
        (DUP, PHONE): ["b_isolated"],
    }
    # Et2's link (to hq-acc-01) fails: the desk's flows crossed it
    assert await cut(failed_device="hq-core-01", failed_interface="Ethernet2") == {
        (DESK, DB): ["through_failed_interface", "over_failed_link"],
    }
    # a conversation nobody saw cross the element, with ends elsewhere, is not cut
    assert await cut(failed_device="hq-wlc-01") == {}
    with pytest.raises(QueryError) as err:
        await cut(failed_device="no-such-device")
    assert err.value.status == 422 and "failed_device" in err.value.detail
    with pytest.raises(QueryError) as err:
        await cut(failed_interface="Et2")
    assert err.value.status == 422


async def test_the_intake_stores_enriched_batches_and_blank_ones_when_the_graph_fails(
    lab: Lab, tmp_path: Path
) -> None:
    flows = fresh_store()
    writer = FlowWriter(flows, lab.enricher)
    batches = [FlowBatch(CORE1, "intake-1", time.time() - 10, _core1_records())]
    assert writer.write(batches, await writer.enrich(batches)) == 3
    assert writer.enriched is not None
    sites = {r["group"]: r["bytes"] for r in writer.enriched.top("dst_site", limit=10)}
    assert sites == {"hq": 90300, "dc1": 4000}
    # a graph that cannot be read: the batch is stored with every name unknown, and counted
    broken = EmbeddedStore(tmp_path / "broken")
    await broken.close()
    failing = FlowWriter(flows, FlowEnricher(broken, lambda: 9))
    batches = [FlowBatch(CORE1, "intake-2", time.time() - 10, _core1_records())]
    enriched = await failing.enrich(batches)
    assert failing.counts["enrich_failures"] == 1
    assert enriched[0] is not None and set(enriched[0].column("src_site").to_pylist()) == {""}
    failing.write(batches, enriched)
    assert failing.enriched is not None
    sites = {r["group"]: r["bytes"] for r in failing.enriched.top("dst_site", limit=10)}
    assert sites == {"hq": 90300, "dc1": 4000, None: 94300}
    assert flows.count() == 6  # the raw records of both batches
