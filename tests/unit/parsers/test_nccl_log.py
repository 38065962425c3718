"""NCCL INFO logs: excerpts of public issue threads (tests/fixtures/real/nccl/PROVENANCE.md)
and logs written for a 4 x 8 job layout in the 2.1x and 2.2x spellings (support/nccl_job)."""

from pathlib import Path

import pytest
from network_discovery.model.nccl import NcclTransport
from network_discovery.parsers.nccl import (
    NcclFacts,
    nccl_bus_id,
    parse_nccl_log,
    parse_tree,
    parse_via,
)
from support.nccl_job import write_job_log

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "nccl" / "logs"


def _parse(name: str) -> NcclFacts:
    return parse_nccl_log((LOGS / name).read_text(), job_id="job-1", source=name)


def test_init_complete_of_32_ranks_on_four_servers() -> None:
    facts = _parse("nccl-tests-29-init-complete.log")
    assert facts.issues == []
    assert facts.job is not None
    assert facts.job.nranks == 32
    assert facts.job.hosts == ("server1", "server2", "server3", "server4")
    placed = {r.rank: (r.host, r.cuda_dev, r.nvml_dev) for r in facts.ranks}
    assert placed[15] == ("server2", 7, 7)
    assert placed[24] == ("server4", 0, 0)
    assert len(placed) == 12
    assert all(r.bus_id is None for r in facts.ranks)  # NCCL 2.4 printed no busId


def test_comm_id_and_bus_id_of_2_2x() -> None:
    facts = _parse("nccl-1814-init-complete-commid.log")
    assert facts.job is not None
    assert facts.job.comm_ids == ("0x5ae77eb5ea4ec1ee",)
    by_rank = {r.rank: r for r in facts.ranks}
    assert by_rank[36].bus_id == "0000:9b:00.0"
    assert by_rank[32].bus_id == "0000:18:00.0"
    assert by_rank[36].nranks == 64
    assert facts.unread_messages == 0


def test_init_start_lines_place_ranks_too() -> None:
    facts = _parse("nccl-tests-252-init-start.log")
    placed = {r.rank: (r.host, r.bus_id) for r in facts.ranks}
    assert placed == {
        0: ("kolyoz1", "0000:42:00.0"),
        1: ("kolyoz1", "0000:55:00.0"),
        4: ("kolyoz2", "0000:42:00.0"),
        5: ("kolyoz2", "0000:55:00.0"),
        6: ("kolyoz2", "0000:d4:00.0"),
        7: ("kolyoz2", "0000:e6:00.0"),
    }


def test_comm_init_all_variant() -> None:
    [rank] = _parse("nccl-1706-commid.log").ranks
    assert (rank.rank, rank.nranks, rank.cuda_dev, rank.bus_id) == (1, 2, 1, "0000:34:00.0")


def test_local_rank_line_alone_places_a_rank() -> None:
    facts = _parse("nccl-1357-trees-localranks.log")
    [rank] = facts.ranks
    assert (rank.rank, rank.nranks, rank.local_rank, rank.local_ranks) == (13, 16, 5, 8)
    assert (rank.host, rank.cuda_dev) == ("qh100-gpu20", 5)
    trees = {(t.channel, t.rank): (t.parent, t.children) for t in facts.trees}
    assert trees[(0, 12)] == (11, (14,))
    assert trees[(10, 12)] == (None, (14, 4))
    assert trees[(3, 13)] == (14, (15,))


def test_old_rings_over_sockets_and_p2p() -> None:
    facts = _parse("nccl-398-rings-socket.log")
    assert facts.issues == []
    socket = [e for e in facts.edges if e.transport is NcclTransport.NET]
    assert {(e.src_rank, e.dst_rank, e.net, e.direction) for e in socket} == {
        (15, 0, "Socket", "send"),
        (7, 8, "Socket", "send"),
    }
    assert all(e.hca_port is None for e in facts.edges)
    p2p = [e for e in facts.edges if e.transport is NcclTransport.P2P]
    assert len(p2p) == 15
    assert (p2p[0].src_device, p2p[0].dst_device) == ("3", "2")


def test_nccl_2_4_trees_are_parent_first() -> None:
    facts = _parse("nccl-226-trees-64ranks.log")
    trees = {t.rank: (t.parent, t.children) for t in facts.trees}
    assert trees[23] == (22, ())
    assert facts.job is not None
    assert facts.job.nranks == 64


def test_nccl_2_5_rings_ib_and_shared_memory() -> None:
    facts = _parse("nccl-392-gdr-rings.log")
    assert facts.job is not None
    assert facts.job.nccl_version == "2.5.7+cuda10.0"
    assert facts.job.network == "IB"
    assert [r.ranks for r in facts.rings] == [tuple(range(16))] * 2
    ib = [e for e in facts.edges if e.transport is NcclTransport.NET]
    assert {(e.src_rank, e.dst_rank, e.direction) for e in ib} == {(15, 0, "receive")}
    assert {e.hca_port.name for e in ib if e.hca_port} == {"mlx5_0:1"}
    assert ib[0].hca_port is not None and ib[0].hca_port.link_layer == "RoCE"
    shm = [e for e in facts.edges if e.transport is NcclTransport.SHM]
    assert [(e.src_rank, e.dst_rank, e.src_device) for e in shm] == [(0, 7, "1b000")]
    assert {(t.channel, t.rank, t.parent, t.children) for t in facts.trees} == {
        (0, 0, 7, (1,)),
        (1, 0, 7, (1,)),
    }


def test_nccl_tests_header_lines_are_counted_not_misread() -> None:
    facts = _parse("nccl-707-nccl-tests-ib.log")
    assert facts.job is not None
    assert facts.job.nccl_version == "2.7.6+cuda11.1"
    assert facts.other_lines == 7
    assert facts.ranks == []


def test_channels_resolve_hcas_through_the_process_net_ib_list() -> None:
    facts = _parse("nccl-707-nccl-tests-ib.log")
    ib = {(e.channel, e.src_rank, e.dst_rank, e.direction): e for e in facts.edges}
    assert len(ib) == 12
    # [0]mlx5_8 [2]mlx5_10 [4]mlx5_12 [5]mlx5_14 of the process's nine-device list
    by_dev = {e.net_dev: e.hca_port.name for e in ib.values() if e.hca_port}
    assert by_dev == {0: "mlx5_8:1", 2: "mlx5_10:1", 4: "mlx5_12:1", 5: "mlx5_14:1"}
    edge = ib[(1, 2, 0, "receive")]
    assert (edge.src_device, edge.dst_device, edge.gdr) == ("c7000", "87000", True)
    assert edge.host == "10-90-43-152"


def test_hca_stays_unknown_without_the_net_ib_list() -> None:
    facts = _parse("nccl-1412-p2p-direct-ib.log")
    net = [e for e in facts.edges if e.transport is NcclTransport.NET]
    assert {(e.src_rank, e.dst_rank, e.net_dev) for e in net} == {(5, 12, 3), (13, 4, 3)}
    assert all(e.hca_port is None for e in net)
    assert len(facts.issues) == 4
    p2p = [e for e in facts.edges if e.transport is NcclTransport.P2P]
    assert {e.via for e in p2p} == {"P2P/direct pointer/read"}


def test_rank_launcher_prefix_and_three_child_trees() -> None:
    facts = _parse("nccl-302-rank-prefix-trees.log")
    assert facts.other_lines == 0
    assert facts.job is not None
    assert facts.job.hosts == ("crow-ib-new-nccl-256-info-19",)
    trees = {t.channel: (t.parent, t.children) for t in facts.trees}
    assert trees == {
        0: (153, (154,)),
        1: (154, (153,)),
        2: (153, (154,)),
        3: (154, (153, 146, 162)),
    }


def test_ib_plugin_network_names_its_own_device_list() -> None:
    facts = _parse("nccl-1814-ibext-plugin.log")
    [edge] = [e for e in facts.edges if e.transport is NcclTransport.NET]
    assert (edge.net, edge.net_dev, edge.hca_port) == ("IBext_v8", 4, None)
    assert "NET/IBext_v8 list" in facts.issues[0].message


def test_roce_hca_selected_by_environment() -> None:
    facts = _parse("nccl-1052-roce-single-hca.log")
    assert facts.job is not None
    assert facts.job.nccl_version == "2.18.5+cuda12.0"
    assert facts.job.hosts == ("node2", "node4")
    assert facts.unread_messages == 0
    assert facts.other_lines == 1  # the nccl-tests rank line


@pytest.mark.parametrize("style", ["2.2x", "2.1x"])
def test_generated_four_by_eight_job(style: str) -> None:
    log = write_job_log(hosts=4, gpus=8, style=style)
    facts = parse_nccl_log(log.text, job_id="train-42")
    assert facts.issues == []
    assert facts.unread_messages == 0
    assert facts.job is not None
    assert facts.job.nranks == 32
    assert facts.job.nccl_version == log.version
    assert facts.job.hosts == ("gpu-node-01", "gpu-node-02", "gpu-node-03", "gpu-node-04")
    assert facts.job.comm_ids == ((log.comm_id,) if log.comm_id else ())
    assert len(facts.ranks) == 32
    for rank in facts.ranks:
        expected = log.ranks[rank.rank]
        assert (rank.host, rank.cuda_dev, rank.bus_id) == (
            expected.host,
            expected.cuda_dev,
            expected.bus_id,
        )
        assert {p.name for p in rank.hca_ports} == expected.hcas
        if style == "2.2x":
            assert rank.local_rank == expected.cuda_dev
    net = [e for e in facts.edges if e.transport is NcclTransport.NET]
    assert len(net) == log.net_edges
    assert all(e.gdr and e.hca_port is not None for e in net)
    assert len([e for e in facts.edges if e.transport is NcclTransport.P2P]) == log.p2p_edges
    assert len(facts.rings) == 2
    assert len(facts.trees) == 64


def test_unknown_messages_and_transports_are_reported() -> None:
    text = (
        "h1:1:2 [0] NCCL INFO Something NCCL 3.0 might say\n"
        "h1:1:2 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[1] via WARP/9\n"
        "h1:1:2 [0] NCCL WARN NET/IB : Got completion with error 12\n"
        "h1:1:2 [0] NCCL INFO Trees [0] 1->2\n"
    )
    facts = parse_nccl_log(text, job_id="j")
    messages = [(i.line, i.message) for i in facts.issues]
    assert messages[0][0] == 1 and "not read" in messages[0][1]
    assert any(line == 2 and "no known kind" in m for line, m in messages)
    assert any(line == 4 and "no known form" in m for line, m in messages)
    assert facts.edges[0].transport is NcclTransport.UNKNOWN
    assert facts.warnings == ["h1 [0] NET/IB : Got completion with error 12"]


def test_net_device_missing_from_the_process_list_is_reported() -> None:
    text = (
        "h1:1:2 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB ; OOB eth0:10.0.0.1<0>\n"
        "h1:1:2 [0] NCCL INFO Channel 00/0 : 0[0] -> 8[0] [send] via NET/IB/3/GDRDMA\n"
    )
    facts = parse_nccl_log(text, job_id="j")
    assert facts.edges[0].hca_port is None
    assert facts.edges[0].net_dev == 3
    assert "not in this process's NET/IB list" in facts.issues[0].message


def test_launcher_prefixes_are_removed() -> None:
    text = "[1,0]<stdout>:h1:1:2 [0] NCCL INFO NCCL version 2.18.5+cuda12.2\n"
    facts = parse_nccl_log(text, job_id="j")
    assert facts.job is not None
    assert facts.job.nccl_version == "2.18.5+cuda12.2"
    assert facts.job.hosts == ("h1",)


@pytest.mark.parametrize(
    ("via", "expected"),
    [
        ("NET/IB/0/GDRDMA", (NcclTransport.NET, "IB", 0, True)),
        ("NET/IB/3", (NcclTransport.NET, "IB", 3, False)),
        ("NET/Socket/1", (NcclTransport.NET, "Socket", 1, False)),
        ("NET/AWS Libfabric/0/GDRDMA", (NcclTransport.NET, "AWS Libfabric", 0, True)),
        ("P2P/CUMEM/read", (NcclTransport.P2P, None, None, None)),
        ("P2P/IPC", (NcclTransport.P2P, None, None, None)),
        ("SHM/direct/direct", (NcclTransport.SHM, None, None, None)),
        ("direct shared memory", (NcclTransport.SHM, None, None, None)),
        ("CollNet/0", (NcclTransport.COLLNET, None, None, None)),
        ("Carrier pigeon", (NcclTransport.UNKNOWN, None, None, None)),
    ],
)
def test_via_clauses(via: str, expected: tuple[object, ...]) -> None:
    assert parse_via(via) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1/-1/-1->0->-1", (0, None, (1,))),
        ("14/4/-1->12->-1", (12, None, (14, 4))),
        ("22->23->-1/-1/-1", (23, 22, ())),
        ("1/-1/-1->0->7|7->0->1/-1/-1", (0, 7, (1,))),
        ("1->2", None),
    ],
)
def test_tree_forms(spec: str, expected: object) -> None:
    assert parse_tree(spec) == expected


@pytest.mark.parametrize(
    ("packed", "address"),
    [("4f000", "0000:4f:00.0"), ("1b000", "0000:1b:00.0"), ("100e1010", "0100:e1:01.0")],
)
def test_nccl_bus_ids(packed: str, address: str) -> None:
    assert nccl_bus_id(packed) == address


def test_sixteen_hosts_ring_line_is_cut_as_nccl_cuts_it() -> None:
    log = write_job_log(hosts=16, gpus=8, style="2.2x")
    facts = parse_nccl_log(log.text, job_id="train-128")
    assert facts.issues == []
    assert len(facts.ranks) == 128
    rings = {r.channel: r for r in facts.rings}
    assert not rings[0].complete
    # " %3d" per rank after a 15-character prefix, cut at 124: 27 whole ranks
    assert rings[0].ranks == tuple(range(27))
    assert rings[1].ranks[:4] == (4, 5, 6, 7)
    for rank in facts.ranks:
        assert {p.name for p in rank.hca_ports} == log.ranks[rank.rank].hcas


@pytest.mark.parametrize(
    ("line", "ranks"),
    [
        ("Channel 00/02 :  0  1  2 10  1...", (0, 1, 2, 10)),
        ("Channel 00/02 :  0  1  2 10 ...", (0, 1, 2, 10)),
    ],
    ids=["number-cut", "space-cut"],
)
def test_cut_ring_line_keeps_only_whole_numbers(line: str, ranks: tuple[int, ...]) -> None:
    facts = parse_nccl_log(f"h1:1:2 [0] NCCL INFO {line}\n", job_id="j")
    [ring] = facts.rings
    assert (ring.ranks, ring.complete) == (ranks, False)
