"""The Flows catalogue queries on a real flow store (chdb) and the catalogue's fixture network:
filters by device, site and interface, and the graph's names for exporters, interfaces and
addresses (null where the graph holds none or several)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from meshq_graph_engine import answers
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.flows.store import ExporterStatus, FlowStore
from network_discovery.model import Snapshot
from support.flow_store import fresh_store, records

NETWORK = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"
#: ifIndexes given to hq-core-01's interfaces in this test's copy of the fixture network.
IF_INDEX = {("hq-core-01", "Et1"): 1, ("hq-core-01", "Et2"): 2}

CORE1 = "10.255.0.2"  # hq-core-01's management address
CORE2 = "10.255.2.6"  # an interface address of hq-core-02 (no management address)
UNKNOWN = "192.0.2.99"


def _snapshot() -> Snapshot:
    data = yaml.safe_load(NETWORK.read_text())
    for interface in data["interfaces"]:
        index = IF_INDEX.get((interface["device"], interface["name"]))
        if index is not None:
            interface["if_index"] = index
    return Snapshot.model_validate(data)


def _flows() -> list[dict[str, Any]]:
    tcp = {"proto": 6, "exporter": CORE1}
    return [
        # desk-101 -> srv-db-01 and the answer, through hq-core-01 Et2 <-> Et1
        {
            **tcp,
            "src_addr": "10.10.10.101",
            "dst_addr": "10.30.0.10",
            "src_port": 51000,
            "dst_port": 5432,
            "bytes": 4000,
            "packets": 40,
            "input_if": 2,
            "output_if": 1,
        },
        {
            **tcp,
            "src_addr": "10.30.0.10",
            "dst_addr": "10.10.10.101",
            "src_port": 5432,
            "dst_port": 51000,
            "bytes": 90000,
            "packets": 60,
            "input_if": 1,
            "output_if": 2,
        },
        # from an address two devices hold (10.10.20.2) to phone-110
        {
            "exporter": CORE1,
            "proto": 17,
            "src_addr": "10.10.20.2",
            "dst_addr": "10.10.20.50",
            "src_port": 5060,
            "dst_port": 5060,
            "bytes": 300,
            "packets": 3,
            "input_if": 1,
            "output_if": 3,
        },
        {
            "exporter": CORE2,
            "proto": 6,
            "src_addr": "10.255.2.1",
            "dst_addr": "10.99.0.20",
            "src_port": 40000,
            "dst_port": 22,
            "bytes": 50,
            "packets": 1,
            "input_if": 1,
        },
        {
            "exporter": UNKNOWN,
            "proto": 17,
            "src_addr": "192.168.1.77",
            "dst_addr": "8.8.8.8",
            "src_port": 40001,
            "dst_port": 53,
            "bytes": 10,
            "packets": 1,
        },
    ]


@pytest.fixture(scope="module")
async def ctx(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[QueryContext]:
    store = EmbeddedStore(tmp_path_factory.mktemp("flowgraph") / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(_snapshot())
    flows: FlowStore = fresh_store()
    now = time.time()
    flows.insert(records(_flows()), now - 30, "batch-1")
    flows.record_status(
        [
            ExporterStatus(CORE1, now - 5, 40, 3, 0, 2, 18, 2, 0, 9),
            ExporterStatus(UNKNOWN, now - 8, 4, 1, 1, 0, 0, 1, 100, 5),
        ],
        updated=now - 2,
    )
    yield QueryContext(store, engine, flows=flows)
    await store.close()


async def _rows(ctx: QueryContext, name: str, **params: Any) -> list[dict[str, Any]]:
    return (await run_query(REGISTRY, name, params, ctx)).rows


async def _mac(ctx: QueryContext, hostname: str) -> str:
    rows = await ctx.store.execute(
        "MATCH (e:Endpoint) WHERE e.hostname = $h RETURN e.id AS mac", {"h": hostname}
    )
    return str(rows[0]["mac"])


async def test_top_talkers_name_what_the_graph_holds(ctx: QueryContext) -> None:
    rows = await _rows(ctx, "meshq_flows_top_talkers", by="src")
    named = [
        (r["rank"], r["src"], r["src_device"], r["src_endpoint"], r["src_hostname"], r["bytes"])
        for r in rows
    ]
    assert named == [
        (1, "10.30.0.10", None, await _mac(ctx, "srv-db-01"), "srv-db-01", 90000),
        (2, "10.10.10.101", None, await _mac(ctx, "desk-101"), "desk-101", 4000),
        (3, "10.10.20.2", None, None, None, 300),  # two devices hold it: unknown
        (4, "10.255.2.1", "hq-fw-01", None, None, 50),
        (5, "192.168.1.77", None, await _mac(ctx, "laptop-guest"), "laptop-guest", 10),
    ]
    assert all(r["dst"] is None and r["dst_device"] is None for r in rows)
    app = await _rows(ctx, "meshq_flows_top_talkers", by="app", top=2)
    assert [(r["proto"], r["port"], r["bytes"], r["packets"]) for r in app] == [
        (6, 5432, 94000, 100),
        (17, 5060, 300, 3),
    ]


async def test_filters_by_device_site_and_interface(ctx: QueryContext) -> None:
    async def total(**params: Any) -> int:
        rows = await _rows(ctx, "meshq_flows_top_talkers", by="pair", **params)
        return sum(r["bytes"] for r in rows)

    assert await total() == 94360
    assert await total(device="HQ-CORE-01") == 94300
    assert await total(device="hq-core-02") == 50  # known by an interface address
    assert await total(site="hq") == 94350  # the unknown exporter is at no site
    assert await total(site="dc1") == 0
    assert await total(device="hq-core-01", interface="Ethernet2") == 94000
    with pytest.raises(QueryError) as raised:
        await total(device="hq-core-01", interface="Et3")  # no ifIndex in the graph
    assert raised.value.status == 422 and "ifIndex" in raised.value.detail


async def test_conversations_pair_both_directions(ctx: QueryContext) -> None:
    rows = await _rows(ctx, "meshq_flows_conversations", device="hq-core-01")
    first = rows[0]
    assert (first["a"], first["b"]) == ("10.10.10.101", "10.30.0.10")
    assert (first["a_hostname"], first["b_hostname"]) == ("desk-101", "srv-db-01")
    assert (first["bytes_a_to_b"], first["bytes_b_to_a"], first["bytes"]) == (4000, 90000, 94000)
    assert (first["packets_a_to_b"], first["packets_b_to_a"], first["flows"]) == (40, 60, 2)
    assert first["exporters"] == 1
    assert [(r["a"], r["b"]) for r in rows[1:]] == [("10.10.20.2", "10.10.20.50")]


async def test_interfaces_named_by_if_index(ctx: QueryContext) -> None:
    rows = await _rows(ctx, "meshq_flows_interfaces", window="15m")
    table = {(r["exporter"], r["if_index"]): r for r in rows}
    assert set(table) == {(CORE1, 1), (CORE1, 2), (CORE1, 3), (CORE2, 1)}
    et1 = table[(CORE1, 1)]
    assert (et1["device"], et1["interface"], et1["in_bytes"], et1["out_bytes"]) == (
        "hq-core-01",
        "Ethernet1",
        90300,
        4000,
    )
    assert et1["in_bps"] == round(90300 * 8 / 900, 3)
    assert table[(CORE1, 2)]["interface"] == "Ethernet2"
    assert table[(CORE1, 3)]["interface"] is None  # Et3 has no ifIndex in the graph
    assert (table[(CORE2, 1)]["device"], table[(CORE2, 1)]["interface"]) == ("hq-core-02", None)


async def test_status_per_exporter(ctx: QueryContext) -> None:
    rows = await _rows(ctx, "meshq_flows_status")
    by = {r["exporter"]: r for r in rows}
    assert set(by) == {CORE1, UNKNOWN}
    core = by[CORE1]
    assert (core["device"], core["site"], core["version"], core["templates"]) == (
        "hq-core-01",
        "hq",
        9,
        2,
    )
    assert core["sampling_rate"] is None  # 0: the exporter has not said
    assert (core["sequence_lost"], core["estimated_loss"]) == (2, 0.1)
    assert core["rate"] == round(3 / 300, 3)
    assert core["last_packet"].endswith("Z")
    other = by[UNKNOWN]
    assert (other["device"], other["site"], other["sampling_rate"]) == (None, None, 100)
    assert other["estimated_loss"] is None
    assert [r["exporter"] for r in await _rows(ctx, "meshq_flows_status", site="hq")] == [CORE1]


async def test_the_graph_scan_names_as_the_ip_index_does(
    ctx: QueryContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexed = await _rows(ctx, "meshq_flows_conversations")

    async def not_ready(_: Any) -> bool:
        return False

    monkeypatch.setattr(answers, "ip_index_ready", not_ready)
    assert await _rows(ctx, "meshq_flows_conversations") == indexed


async def test_without_a_flow_store_every_query_says_what_to_configure(
    ctx: QueryContext,
) -> None:
    bare = QueryContext(ctx.store, ctx.engine)
    for name in sorted(n for n in REGISTRY if n.startswith("meshq_flows_")):
        with pytest.raises(QueryError) as raised:
            await run_query(REGISTRY, name, {}, bare)
        assert raised.value.status == 503
        assert "MESHQ_FLOWS_PATH" in raised.value.detail


def test_graph_engine_opens_the_store_the_environment_names() -> None:
    from meshq_graph_engine.flow_intake import open_flow_store
    from network_discovery.flows.store import embedded_path

    path = embedded_path()
    assert path is not None  # the module's store opened it
    assert open_flow_store(environ={}) is None
    # a reader replica reads a server only: the embedded store is the writer's
    assert open_flow_store(reader=True, environ={"MESHQ_FLOWS_PATH": path}) is None
    store = open_flow_store(
        environ={
            "MESHQ_FLOWS_PATH": path,
            "MESHQ_FLOWS_DATABASE": "env_test",
            "MESHQ_FLOWS_RETENTION": "2h",
        }
    )
    assert store is not None and (store.database, store.retention_s) == ("env_test", 7200)
    # another directory in the same process cannot be opened: no store, and no crash
    assert open_flow_store(environ={"MESHQ_FLOWS_PATH": path + "-other"}) is None
    assert (
        open_flow_store(environ={"MESHQ_FLOWS_PATH": path, "MESHQ_FLOWS_RETENTION": "1y"}) is None
    )
