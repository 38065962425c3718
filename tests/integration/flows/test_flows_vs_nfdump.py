"""The flow collector against the reference: Debian's softflowd replays a generated pcap of
known conversations as NetFlow v5, v9 and IPFIX to our UDP listener and, from the same pcap, to
nfdump's ``nfcapd``; per conversation, bytes and packets must equal what ``nfdump`` reads."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pytest
from network_discovery.flows import FlowCollector, conversation_dict, conversations, listen
from support.flow_lab import (
    Conversation,
    ip_bytes,
    missing_tools,
    nfdump_reference,
    replay,
    write_pcap,
)

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"flow reference tools not installed ({', '.join(_MISSING)}): "
    "apt-get install softflowd nfdump",
)


def _conversations() -> list[Conversation]:
    rng = random.Random(25)
    out = []
    for i in range(60):
        proto = 6 if i % 3 else 17
        out.append(
            Conversation(
                src=f"10.{i % 4}.{i // 4}.{1 + i % 7}",
                dst=f"172.16.{i % 5}.{10 + i}",
                proto=proto,
                sport=20000 + i,
                dport=(443, 53, 8080, 22)[i % 4],
                packets=rng.randint(1, 40),
                payload=rng.randint(0, 1200),
            )
        )
    return out


@pytest.fixture(scope="module")
def pcap(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Conversation]]:
    path = tmp_path_factory.mktemp("flows") / "conversations.pcap"
    convs = _conversations()
    write_pcap(path, convs)
    return path, convs


@pytest.mark.parametrize("version", ["5", "9", "10"], ids=["v5", "v9", "ipfix"])
async def test_conversations_equal_nfdump(
    version: str, pcap: tuple[Path, list[Conversation]], tmp_path: Path
) -> None:
    path, convs = pcap
    batches: list[pa.Table] = []
    collector = FlowCollector(on_records=batches.append)
    transport = await listen(collector, "127.0.0.1", 0)
    port = transport.get_extra_info("sockname")[1]
    try:
        await asyncio.to_thread(replay, path, version, port, tmp_path)
        for _ in range(50):  # the last datagrams may still be in the socket buffer
            await asyncio.sleep(0.05)
    finally:
        transport.close()
    ours = conversation_dict(conversations(pa.concat_tables(batches)))

    reference: dict[tuple[str, str, int, int, int], tuple[int, int]] = defaultdict(lambda: (0, 0))
    for row in await asyncio.to_thread(nfdump_reference, path, version, tmp_path):
        b, p = reference[row.key]
        reference[row.key] = (b + row.bytes, p + row.packets)

    # the pcap's own truth, so a mistake shared by both collectors is caught too
    truth = {
        (c.src, c.dst, c.proto, c.sport, c.dport): (c.packets * ip_bytes(c), c.packets)
        for c in convs
    }
    assert dict(reference) == truth
    assert ours == dict(reference)

    assert collector.decoder.errors == {}
    stats = collector.exporters["127.0.0.1"]
    assert stats.lost == 0
    assert stats.records == len(convs)
    if version != "5":
        assert collector.decoder.templates_known("127.0.0.1") > 0


@pytest.mark.parametrize("version", ["5", "9", "10"], ids=["v5", "v9", "ipfix"])
async def test_sampled_export_is_scaled(
    version: str, pcap: tuple[Path, list[Conversation]], tmp_path: Path
) -> None:
    """softflowd samples 1 packet in 10 and says so: in the v5 header, in a v9/IPFIX options
    record. nfdump 1.7.1 scales the v5 counts by it but not the v9/IPFIX ones (it reads the
    options record's rate only with a sampler id); ours scales all three, so for v9/IPFIX it
    must equal nfdump's counts times 10."""
    path, _ = pcap
    batches: list[pa.Table] = []
    collector = FlowCollector(on_records=batches.append)
    transport = await listen(collector, "127.0.0.1", 0)
    port = transport.get_extra_info("sockname")[1]
    try:
        await asyncio.to_thread(replay, path, version, port, tmp_path, 10)
        for _ in range(50):
            await asyncio.sleep(0.05)
    finally:
        transport.close()
    records = pa.concat_tables(batches)
    assert set(records["sampling_rate"].to_pylist()) == {10}
    ours = conversation_dict(conversations(records))
    factor = 1 if version == "5" else 10
    reference: dict[tuple[str, str, int, int, int], tuple[int, int]] = defaultdict(lambda: (0, 0))
    for row in await asyncio.to_thread(nfdump_reference, path, version, tmp_path, 10):
        b, p = reference[row.key]
        reference[row.key] = (b + row.bytes * factor, p + row.packets * factor)
    assert len(ours) > 10
    assert ours == dict(reference)
