"""``ibroute`` (a switch's unicast forwarding table) read as the switch's node with its table:
the real tool's output (on a simulated fat tree, tests/fixtures/generated/infiniband), the
directed-route and no-description headers, and every way a table can be cut or wrong, which
leaves the whole table out."""

from __future__ import annotations

from pathlib import Path

import pytest
from network_discovery.model.fabric import IBNodeType
from network_discovery.parsers import parse_directory
from network_discovery.parsers.infiniband import parse_ibnetdiscover, parse_ibroute

GENERATED = Path(__file__).resolve().parents[2] / "fixtures" / "generated" / "infiniband"


def _net_routes(path: Path) -> dict[int, int]:
    result = parse_ibroute(path.read_text())
    assert result.problems == []
    (node,) = result.nodes
    return dict(zip(node.route_lids, node.route_ports, strict=True))


def test_a_leafs_table() -> None:
    result = parse_ibroute((GENERATED / "ibroute_leaf01.txt").read_text())
    assert result.problems == [] and result.warnings == []
    (node,) = result.nodes
    assert (node.guid, node.node_type, node.lid) == ("0x0c42a10300000200", IBNodeType.SWITCH, 3)
    assert node.description == "MF0;leaf01:MQM8700/U1"
    assert node.route_lids == (1, 2, 3, 4, 5, 6, 7, 8)
    assert node.route_ports == (3, 5, 0, 5, 1, 2, 3, 4)


def test_tables_agree_with_the_cabling() -> None:
    """Each switch forwards its own LID to port 0 and a host's LID to the port the host is
    cabled to (the net file's cabling, as the simulator's ibnetdiscover printed it)."""
    netfile = (GENERATED / "fat_tree_2x2.net").read_text()
    assert "leaf01" in netfile
    for name, own_lid in (("ibroute_leaf01.txt", 3), ("ibroute_spine01.txt", 1)):
        routes = _net_routes(GENERATED / name)
        assert routes[own_lid] == 0
        assert set(routes) == set(range(1, 9))
    leaf = _net_routes(GENERATED / "ibroute_leaf01.txt")
    assert (leaf[5], leaf[6]) == (1, 2)  # gpu-0101 and gpu-0102 hang on ports 1 and 2


def test_a_directed_route_table_has_no_lid_in_its_header() -> None:
    result = parse_ibroute((GENERATED / "ibroute_-D_0.txt").read_text())
    assert result.problems == []
    (node,) = result.nodes
    assert node.lid is None and node.description == "MF0;spine01:MQM8700/U1"
    assert len(node.route_lids) == 8


def test_several_tables_and_the_tools_noise() -> None:
    text = "\n".join(
        [
            'ibwarn: [565063] sim_connect: attached as client 1 at node "Switch1"',
            (GENERATED / "ibroute_leaf01.txt").read_text(),
            "Unicast lids [0x0-0x1f] of switch Lid 3 guid 0x0021283a8620b000:",
            "     Lid  Out   Destination",
            "         Port     Info",
            "0x0014 001 : (Switch portguid 0x0021283a8620b0a0)",
            "0x0016 002 : (Switch portguid 0x0021283a8620b0c0)",
            "2 valid lids dumped",
        ]
    )
    result = parse_ibroute(text)
    assert result.problems == []
    first, second = result.nodes
    assert first.lid == 3 and second.description is None
    assert (second.route_lids, second.route_ports) == ((0x14, 0x16), (1, 2))


_HEAD = "Unicast lids [0x0-0x8] of switch Lid 3 guid 0x0c42a10300000200 (leaf):"


@pytest.mark.parametrize(
    ("lines", "why"),
    [
        ([_HEAD, "0x0001 003 : (x)"], "ends before its 'lids dumped'"),
        ([_HEAD, "0x0001 003 : (x)", "2 valid lids dumped"], "the tool counted 2"),
        ([_HEAD, "0x0002 003 : (x)", "0x0001 003 : (x)", "2 valid lids dumped"], "out of order"),
        ([_HEAD, "0x0001 003 : (x)", "0x0001 004 : (x)", "2 valid lids dumped"], "out of order"),
        ([_HEAD, "0x0001 255 : (x)", "1 valid lids dumped"], "over 254"),
        ([_HEAD, "0x0001 003 : (x)", _HEAD, "0x0001 003 : (x)", "1 valid lids dumped"], "count"),
        (["Multicast mlids [0xc000-0xc003] of switch Lid 3 guid 0x1 (x):"], "multicast"),
        (["0x0001 003 : (x)"], "not a forwarding table line"),
    ],
    ids=["cut", "count", "descending", "twice", "no-port", "two-heads", "multicast", "no-head"],
)
def test_a_cut_or_wrong_table_is_left_out(lines: list[str], why: str) -> None:
    result = parse_ibroute("\n".join(lines))
    assert result.problems and any(why in p for _, p in result.problems), result.problems
    # nothing of a wrong table is kept; only the second, whole, table of "two-heads"
    assert len(result.nodes) == (1 if lines.count(_HEAD) == 2 else 0)


def test_a_hosts_folder_reads_tables_with_its_topology(tmp_path: Path) -> None:
    host = tmp_path / "ib-sm01"
    host.mkdir()
    (host / "ibroute_3.txt").write_text((GENERATED / "ibroute_leaf01.txt").read_text())
    _, report = parse_directory(tmp_path)  # without a topology output: a warning, not read
    assert any("forwarding tables are read with" in i.message for i in report.issues)
    net = (
        "switchguid=0x0c42a10300000200\n"
        'Switch\t8 "S-0c42a10300000200"\t\t# "MF0;leaf01:MQM8700/U1" base port 0 lid 3 lmc 0\n'
    )
    assert parse_ibnetdiscover(net).problems == []
    (host / "ibnetdiscover.txt").write_text(net)
    snapshot, report = parse_directory(tmp_path)
    assert report.errors == []
    (node,) = snapshot.ib_nodes
    assert node.lid == 3 and node.route_ports == (3, 5, 0, 5, 1, 2, 3, 4)
    assert node.description == "MF0;leaf01:MQM8700/U1" and node.ports == 8
