"""The InfiniBand parsers over real outputs published by their operators
(tests/fixtures/real/infiniband, see its PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

from network_discovery.model.fabric import (
    IBNodeType,
    IBPhysState,
    IBPortState,
    IBSpeed,
    IBWidth,
)
from network_discovery.parsers.infiniband import (
    parse_iblinkinfo,
    parse_ibnetdiscover,
    parse_ibqueryerrors,
    parse_ibstat,
    parse_ibstatus,
    parse_perfquery,
)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "infiniband"


def _read(name: str) -> str:
    return (REAL / name).read_text()


def test_ibnetdiscover_manpage_fabric() -> None:
    result = parse_ibnetdiscover(_read("ibnetdiscover_rdma_core_manpage.txt"))
    assert result.problems == []
    # the records disagree on the width of two cables (4x on one end, 1x on the other)
    assert [why.split(":")[0] for _, why in result.warnings] == [
        "the two ends disagree on width"
    ] * 2
    nodes = {n.guid: n for n in result.nodes}
    isr = nodes["0x005442ba00003080"]
    assert (isr.node_type, isr.description, isr.ports) == (
        IBNodeType.SWITCH,
        "ISR9024 Voltaire",
        24,
    )
    assert (isr.lid, isr.lmc, isr.enhanced_port0) == (6, 0, False)
    assert (isr.vendor_id, isr.device_id) == (0x8F1, 0x5A06)
    assert isr.system_image_guid == "0x005442ba00003000"
    ca = nodes["0x0008f10403960558"]
    assert ca.node_type is IBNodeType.CA and ca.ports == 2
    # "MT23108 InfiniHost Mellanox Technologies" names no host: unknown, not guessed
    assert {n.host for n in result.nodes} == {None}
    assert len([n for n in result.nodes if n.node_type is IBNodeType.SWITCH]) == 2
    links = {link.ends: link for link in result.links}
    # the HCA's two ports go to ports 8 and 12 of the ISR9024
    to_hca = links[(("0x0008f10403960559", 1), ("0x005442ba00003080", 12))]
    assert (to_hca.width, to_hca.speed) == (None, IBSpeed.SDR)
    assert (("0x0008f1040396055a", 2), ("0x005442ba00003080", 8)) in links
    # the two switches are cabled twice: 10<->1 (width unknown: the ends disagree) and 6<->3
    cable = links[(("0x0008f10400410015", 1), ("0x005442ba00003080", 10))]
    assert cable.width is None and cable.speed is IBSpeed.SDR
    ports = {p.id: p for p in result.ports}
    assert ports["0x0008f10400410015|1"].width is IBWidth.X1
    assert ports["0x005442ba00003080|10"].width is IBWidth.X4
    assert (("0x0008f10400410015", 3), ("0x005442ba00003080", 6)) in links
    assert len(result.links) == 7
    assert ports["0x0008f10403960985|1"].lid == 16 and ports["0x0008f10403960985|1"].lmc == 1


def test_iblinkinfo_edr_switch_with_down_ports() -> None:
    result = parse_iblinkinfo(_read("iblinkinfo_sb7700_edr.txt"))
    assert result.problems == []
    ports = {p.id: p for p in result.ports}
    switch = "0x506b4b0300820910"
    down = [ports[f"{switch}|{n}"] for n in range(1, 17)]
    assert {(p.state, p.phys_state) for p in down} == {(IBPortState.DOWN, IBPhysState.POLLING)}
    assert all(p.width is None and p.speed is None for p in down)
    up = ports[f"{switch}|17"]
    assert (up.state, up.width, up.speed, up.lid) == (
        IBPortState.ACTIVE,
        IBWidth.X4,
        IBSpeed.EDR,
        2,
    )
    assert up.rate_gbps == 4 * 25.78125 and not up.degraded
    hca = ports["0xec0d9a03003d62be|1"]
    assert (hca.node_type, hca.node_description, hca.lid) == (IBNodeType.CA, "n02 HCA-1", 4)
    # the only link whose two ends are both in this (partial) capture
    assert [link.ends for link in result.links] == [
        (("0x506b4b0300820910", 17), ("0xec0d9a03003d62be", 1))
    ]
    # the capture stops before switch port 36 and never lists n01: said, not guessed
    assert [line for line, _ in result.warnings] == [4, 23]


def test_ibqueryerrors_switch_and_hcas() -> None:
    result = parse_ibqueryerrors(_read("ibqueryerrors_sx6036.txt"))
    assert result.problems == [] and result.warnings == []
    by_id = {c.id: c for c in result.counters}
    assert len(by_id) == 15
    total = by_id["0x0002c903006e29b0|all"]
    assert total.node_description == "MF0;ys23ib4:SX6036/U1"
    assert total.errors() == {
        "link_error_recovery": 15,
        "link_downed": 48,
        "rcv_switch_relay_errors": 2461,
        "xmit_discards": 15854,
        "vl15_dropped": 5,
    }
    assert total.xmit_wait == 4294967295
    assert by_id["0x0002c903006e29b0|0"].xmit_wait == 76959324
    port5 = by_id["0x0002c903006e29b0|5"]
    assert port5.symbol_errors == 65535 and port5.xmit_discards == 649
    hca = by_id["0x7cfe900300179b31|1"]
    assert hca.node_description == "dl380g7 mlx4_0" and hca.vl15_dropped == 14
    assert hca.source == "ibqueryerrors" and hca.lid is None


def test_perfquery_pre_iba_counter_names() -> None:
    result = parse_perfquery(_read("perfquery_legacy_names.txt"))
    assert result.problems == [] and result.warnings == []
    [counters] = result.counters
    assert (counters.lid, counters.port, counters.extended) == (936, 1, False)
    assert counters.errors() == {}
    assert counters.symbol_errors == 0 and counters.link_error_recovery == 0
    assert (counters.xmit_data, counters.rcv_data) == (905972985, 2411533950)
    assert (counters.xmit_pkts, counters.rcv_pkts) == (22945597, 26264095)
    assert counters.xmit_wait is None  # not in this output: unknown, not zero


def test_ibstat_roce_port() -> None:
    result = parse_ibstat(_read("ibstat_roce_cx6.txt"), host="node7")
    assert result.problems == []
    [adapter] = result.adapters
    assert (adapter.host, adapter.name, adapter.ca_type, adapter.firmware) == (
        "node7",
        "roceP1p1s0f1",
        "MT4123",
        "20.32.1010",
    )
    assert adapter.node_guid == "0xb8cef603002d1707"
    assert adapter.system_image_guid == "0xb8cef603002d1706"
    [port] = adapter.ports
    assert (port.state, port.phys_state, port.rate_gbps) == (
        IBPortState.ACTIVE,
        IBPhysState.LINK_UP,
        100.0,
    )
    assert (port.lid, port.sm_lid, port.link_layer) == (0, 0, "Ethernet")
    assert port.port_guid == "0xbacef6fffe2d1707" and port.capability_mask == 0x10000


def test_ibstatus_fdr_port() -> None:
    result = parse_ibstatus(_read("ibstatus_mlx4_fdr.txt"))
    assert result.problems == []
    [adapter] = result.adapters
    assert adapter.name == "mlx4_0" and adapter.host is None
    [port] = adapter.ports
    assert (port.port, port.lid, port.sm_lid) == (1, 1, 1)
    assert (port.state, port.phys_state) == (IBPortState.ACTIVE, IBPhysState.LINK_UP)
    assert (port.rate_gbps, port.width, port.speed) == (56.0, IBWidth.X4, IBSpeed.FDR)
    assert port.gid == "fe80:0000:0000:0000:0002:c903:00ec:9301"
    assert port.link_layer == "InfiniBand"
