"""The flow pipeline end to end on the real broker (Tansu): softflowd exports a pcap of known
conversations to the flow-collector service, which publishes Arrow batches on
``meshq.flows.records``; graph-engine's flow intake stores them (chdb). The store must hold
exactly the pcap's bytes and packets per conversation, the exporter's counters, each batch once
when the topic is read again from its start, and go on past a record that is no batch."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from meshq_flow_collector.service import FlowCollectorService
from meshq_flow_collector.settings import Settings
from meshq_graph_engine.flow_intake import FlowIntake
from meshq_runtime.kafka import ensure_topics
from meshq_runtime.service import open_kafka
from meshq_runtime.settings import KafkaSettings
from network_discovery.contracts.topics import FLOW_RECORDS
from network_discovery.flows.store import FlowStore
from support.flow_lab import (
    Conversation,
    free_udp_port,
    ip_bytes,
    missing_tools,
    replay,
    write_pcap,
)
from support.flow_store import fresh_store

_MISSING = missing_tools()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        bool(_MISSING),
        reason=f"flow reference tools not installed ({', '.join(_MISSING)}): "
        "apt-get install softflowd nfdump",
    ),
]


def _conversations() -> list[Conversation]:
    rng = random.Random(2525)
    return [
        Conversation(
            src=f"10.20.{i // 8}.{1 + i % 8}",
            dst=f"192.168.{i % 3}.{20 + i}",
            proto=6 if i % 2 else 17,
            sport=30000 + i,
            dport=(443, 53, 5432)[i % 3],
            packets=rng.randint(1, 30),
            payload=rng.randint(0, 1000),
        )
        for i in range(40)
    ]


async def _until(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.25)
    raise AssertionError("timed out waiting for the flow store")


def _pairs(store: FlowStore) -> dict[tuple[str, str], tuple[int, int]]:
    rows = store.top_talkers("pair", minutes=10, limit=1000)
    return {(r["src"], r["dst"]): (r["bytes"], r["packets"]) for r in rows}


@pytest.mark.parametrize("version", ["9", "10"], ids=["v9", "ipfix"])
async def test_softflowd_to_the_flow_store_through_kafka(
    version: str, stack: Any, isolation: dict[str, str], tmp_path: Path
) -> None:
    env = {**isolation, "MESHQ_KAFKA_BOOTSTRAP": stack.kafka_bootstrap}
    kafka_settings = KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA_")})
    await ensure_topics(kafka_settings)
    port = free_udp_port()
    settings = Settings(
        **env,
        MESHQ_FLOWS_LISTEN_HOST="127.0.0.1",
        MESHQ_FLOWS_NETFLOW_PORT=port,
        MESHQ_FLOWS_IPFIX_PORT=0,
        MESHQ_FLOWS_SFLOW_PORT=0,
        MESHQ_FLOWS_FLUSH_S=0.2,
        MESHQ_FLOWS_STATUS_S=0.5,
        MESHQ_FLOWS_BATCH_RECORDS=7,  # several batches per export
    )
    kafka = open_kafka(settings, service="flow-collector")
    await kafka.start()
    collector = FlowCollectorService(settings, kafka.bus.publish_raw_many)
    await collector.start()
    store = fresh_store()
    intake = FlowIntake(store, kafka_settings, client_id="test-flow-intake")
    await intake.start()
    convs = _conversations()
    pcap = tmp_path / "flows.pcap"
    write_pcap(pcap, convs)
    try:
        await asyncio.to_thread(replay, pcap, version, port, tmp_path)
        await _until(lambda: store.count() >= len(convs))
        await _until(lambda: any(r["records"] >= len(convs) for r in store.exporters()))
    finally:
        await collector.stop()
        await kafka.broker.stop()

    truth = {(c.src, c.dst): (c.packets * ip_bytes(c), c.packets) for c in convs}
    assert store.count() == len(convs)
    assert _pairs(store) == truth
    [status] = store.exporters()
    assert status["exporter"] == "127.0.0.1"
    assert (status["records"], status["lost"], status["dropped"]) == (len(convs), 0, 0)
    assert status["templates"] > 0 and status["version"] == int(version)
    assert collector.counts["batches_published"] >= len(convs) // 7
    assert collector.collector.decoder.errors == {}

    # a record that is no flow batch is skipped; the intake goes on
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            kafka_settings.topic(FLOW_RECORDS.name),
            b"not arrow",
            key=b"127.0.0.1",
            headers=[("x-meshq-batch", b"junk"), ("x-meshq-received", b"1")],
        )
    finally:
        await producer.stop()
    await _until(lambda: intake.counts["invalid"] == 1)
    await intake.stop()

    # every batch delivered again (another group reads the topic from its start): stored once
    again = FlowIntake(
        store,
        KafkaSettings(
            **{**kafka_settings.model_dump(by_alias=True), "MESHQ_KAFKA_GROUP_PREFIX": "again"}
        ),
        client_id="test-flow-intake-again",
    )
    await again.start()
    try:
        await _until(lambda: again.counts["batches"] >= collector.counts["batches_published"])
    finally:
        await again.stop()
    assert store.count() == len(convs)
    assert _pairs(store) == truth
