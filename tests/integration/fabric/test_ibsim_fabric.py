"""The InfiniBand parsers against the real infiniband-diags, run on fat trees that ibsim
simulates: what the tools print about the fabric, parsed, must be the fabric of the net file
(nodes, GUIDs, descriptions, hosts, cables), and what the simulator is told to break must
show as broken."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
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
    parse_perfquery,
)
from support.ib_fabric import CONNECTX6_DEVID, MELLANOX, QUANTUM_DEVID, FatTree, fat_tree
from support.ibsim_lab import IbSim, missing_tools

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"InfiniBand simulator tools not installed ({', '.join(_MISSING)}): "
    "apt-get install ibsim-utils infiniband-diags opensm",
)

#: (leaf, host) whose first HCA is cabled 1x
NARROW = ((0, 1),)
#: (leaf, host) whose second HCA is cabled at QDR (no extended speeds)
SLOW = ((1, 2),)


def _g(value: int) -> str:
    return f"0x{value:016x}"


def expected_links(tree: FatTree) -> set[tuple[tuple[str, int], tuple[str, int]]]:
    out = set()
    for c in tree.cables:
        a, b = tree.nodes[c.a], tree.nodes[c.b]
        ends = sorted(
            [(_g(a.port_guid(c.a_port)), c.a_port), (_g(b.port_guid(c.b_port)), c.b_port)]
        )
        out.add((ends[0], ends[1]))
    return out


def parsed_links(result) -> set[tuple[tuple[str, int], tuple[str, int]]]:
    return {link.ends for link in result.links}


@pytest.fixture(scope="module")
def tree() -> FatTree:
    tree = fat_tree(leaves=8, spines=4, hosts_per_leaf=4, hcas_per_host=2, narrow=NARROW, slow=SLOW)
    assert len(tree.switches) == 12 and len(tree.hcas) == 64
    return tree


@pytest.fixture
def sim(tree: FatTree, tmp_path: Path) -> Iterator[IbSim]:
    lab = IbSim(tree.netfile(), tmp_path).start()
    yield lab
    lab.stop()


@pytest.fixture
def sim_without_sm(tree: FatTree, tmp_path: Path) -> Iterator[IbSim]:
    lab = IbSim(tree.netfile(), tmp_path).start(subnet_manager=False)
    yield lab
    lab.stop()


@pytest.mark.parametrize("flags", [(), ("-g",), ("-f",)], ids=["plain", "grouping", "full"])
def test_ibnetdiscover_is_the_net_file(sim: IbSim, tree: FatTree, flags: tuple[str, ...]) -> None:
    result = parse_ibnetdiscover(sim.run("ibnetdiscover", *flags))
    assert result.problems == []
    nodes = {n.guid: n for n in result.nodes}
    assert set(nodes) == {_g(n.guid) for n in tree.nodes.values()}
    for sim_node in tree.nodes.values():
        node = nodes[_g(sim_node.guid)]
        assert node.description == sim_node.description
        assert node.ports == sim_node.ports
        assert node.vendor_id == MELLANOX
        if sim_node.kind == "switch":
            assert node.node_type is IBNodeType.SWITCH
            assert node.device_id == QUANTUM_DEVID
            assert node.lid and node.host is None
        else:
            assert node.node_type is IBNodeType.CA
            assert node.device_id == CONNECTX6_DEVID
            assert node.host == sim_node.host
            assert node.ca_name == sim_node.description.split()[1]
    switch_lids = [n.lid for n in result.nodes if n.node_type is IBNodeType.SWITCH]
    assert len(set(switch_lids)) == len(switch_lids)
    assert parsed_links(result) == expected_links(tree)
    narrow = tree.nodes["gpu-0102-mlx5_0"]
    widths = {link.ends: link.width for link in result.links}
    for ends, width in widths.items():
        on_narrow = _g(narrow.port_guid(1)) in (ends[0][0], ends[1][0])
        assert width is (IBWidth.X1 if on_narrow else IBWidth.X4)
    slow = _g(tree.nodes["gpu-0203-mlx5_1"].port_guid(1))
    for link in result.links:
        on_slow = slow in (link.ends[0][0], link.ends[1][0])
        assert link.speed is (IBSpeed.QDR if on_slow else IBSpeed.HDR)


def test_ibnetdiscover_ports_mode(sim: IbSim, tree: FatTree) -> None:
    result = parse_ibnetdiscover(sim.run("ibnetdiscover", "-p"))
    assert result.problems == []
    assert result.nodes == []  # -p prints no node records
    assert parsed_links(result) == expected_links(tree)
    assert len(result.ports) == sum(n.ports for n in tree.nodes.values())
    descriptions = {p.id: p.node_description for p in result.ports}
    for n in tree.nodes.values():
        assert descriptions[f"{_g(n.port_guid(1))}|1"] == n.description


@pytest.mark.parametrize("layout", ["grouped", "line"])
def test_iblinkinfo_states_widths_hints(sim: IbSim, tree: FatTree, layout: str) -> None:
    args = ("iblinkinfo", "--line") if layout == "line" else ("iblinkinfo",)
    result = parse_iblinkinfo(sim.run(*args))
    assert result.problems == []
    assert parsed_links(result) == expected_links(tree)
    assert {p.state for p in result.ports} == {IBPortState.ACTIVE}
    assert {p.phys_state for p in result.ports} == {IBPhysState.LINK_UP}
    narrow = _g(tree.nodes["gpu-0102-mlx5_0"].port_guid(1))
    by_id = {p.id: p for p in result.ports}
    assert by_id[f"{narrow}|1"].width is IBWidth.X1
    # ibsim's ports support every width: each link shows the 12X hint, none a speed hint
    assert {p.width_could_be for p in result.ports} == {IBWidth.X12}
    assert {p.speed_could_be for p in result.ports} == {None}
    slow = _g(tree.nodes["gpu-0203-mlx5_1"].port_guid(1))
    leaf02 = _g(tree.nodes["leaf02"].guid)
    qdr = {p.id for p in result.ports if p.speed is IBSpeed.QDR}
    assert qdr == {f"{slow}|1", f"{leaf02}|6"}
    assert {p.speed for p in result.ports if p.id not in qdr} == {IBSpeed.HDR}
    lids = parse_ibnetdiscover(sim.run("ibnetdiscover", "-p"))
    assert {p.id: p.lid for p in result.ports} == {p.id: p.lid for p in lids.ports}


def test_ports_taken_down_show_down(sim: IbSim, tree: FatTree) -> None:
    leaf02 = tree.nodes["leaf02"]
    cut_peer = tree.peer("leaf02", 1)
    assert cut_peer is not None
    hca = tree.nodes[cut_peer[0]]
    sim.console('Unlink "leaf02"[1]')
    # disable a port with the real ibportstate (by the switch's LID)
    leaf01 = tree.nodes["leaf01"]
    before = {n.guid: n for n in parse_ibnetdiscover(sim.run("ibnetdiscover")).nodes}
    lid = before[_g(leaf01.guid)].lid
    assert lid
    sim.run("ibportstate", str(lid), "5", "disable", check=False)

    result = parse_iblinkinfo(sim.run("iblinkinfo"))
    assert result.problems == []
    ports = {p.id: p for p in result.ports}
    down = ports[f"{_g(leaf02.guid)}|1"]
    assert (down.state, down.phys_state) == (IBPortState.DOWN, IBPhysState.POLLING)
    assert down.width is None and down.speed is None
    assert ports[f"{_g(leaf01.guid)}|5"].phys_state is IBPhysState.DISABLED
    unreachable = {_g(hca.port_guid(1))}
    disabled_peer = tree.peer("leaf01", 5)
    assert disabled_peer is not None
    unreachable.add(_g(tree.nodes[disabled_peer[0]].port_guid(1)))
    assert not unreachable & {p.port_guid for p in result.ports}
    gone = {link for link in expected_links(tree) if {link[0][0], link[1][0]} & unreachable}
    assert parsed_links(result) == expected_links(tree) - gone
    after = parse_ibnetdiscover(sim.run("ibnetdiscover"))
    assert after.problems == []
    assert {n.guid for n in after.nodes} == set(before) - {
        _g(hca.guid),
        _g(tree.nodes[disabled_peer[0]].guid),
    }


def test_without_subnet_manager_ports_stay_init(sim_without_sm: IbSim, tree: FatTree) -> None:
    result = parse_iblinkinfo(sim_without_sm.run("iblinkinfo"))
    assert result.problems == []  # no LIDs: peers are found by description
    assert {p.state for p in result.ports} == {IBPortState.INIT}
    assert {p.lid for p in result.ports} == {0}
    assert parsed_links(result) == expected_links(tree)
    topo = parse_ibnetdiscover(sim_without_sm.run("ibnetdiscover"))
    assert topo.problems == []
    assert parsed_links(topo) == expected_links(tree)


def test_counters_perfquery_and_ibqueryerrors(sim: IbSim, tree: FatTree) -> None:
    sim.console('PerformanceSet "leaf01"[3] PortCounters.SymbolErrorCounter=17')
    sim.console('PerformanceSet "leaf01"[3] PortCounters.LinkDownedCounter=3')
    sim.console('PerformanceSet "leaf01"[3] PortCounters.PortXmitDiscards=9')
    sim.console('PerformanceSet "gpu-0102-mlx5_0"[1] PortCounters.PortRcvErrors=5')
    nodes = {n.guid: n for n in parse_ibnetdiscover(sim.run("ibnetdiscover")).nodes}
    leaf_lid = nodes[_g(tree.nodes["leaf01"].guid)].lid
    assert leaf_lid

    result = parse_perfquery(sim.run("perfquery", str(leaf_lid), "3"))
    assert result.problems == []
    [counters] = result.counters
    assert (counters.lid, counters.port, counters.extended) == (leaf_lid, 3, False)
    assert counters.errors() == {"symbol_errors": 17, "link_downed": 3, "xmit_discards": 9}
    assert counters.rcv_errors == 0 and counters.xmit_wait == 0

    extended = parse_perfquery(sim.run("perfquery", "-x", str(leaf_lid), "3"))
    assert extended.problems == []
    assert extended.counters[0].extended and extended.counters[0].xmit_data is not None

    errors = parse_ibqueryerrors(sim.run("ibqueryerrors", "--skip-sl", check=False))
    assert errors.problems == []
    found = {c.id: c for c in errors.counters}
    leaf = found[f"{_g(tree.nodes['leaf01'].guid)}|3"]
    assert leaf.errors() == {"symbol_errors": 17, "link_downed": 3, "xmit_discards": 9}
    hca = found[f"{_g(tree.nodes['gpu-0102-mlx5_0'].port_guid(1))}|1"]
    assert hca.errors() == {"rcv_errors": 5} and hca.node_description == "gpu-0102 mlx5_0"


def test_ibstat_on_a_host(sim: IbSim, tree: FatTree) -> None:
    node = tree.nodes["gpu-0304-mlx5_1"]
    result = parse_ibstat(sim.run("ibstat", host=node.sim_id), host=node.host)
    assert result.problems == []
    [adapter] = result.adapters
    assert adapter.host == node.host and adapter.node_guid == _g(node.guid)
    [port] = adapter.ports
    assert port.port_guid == _g(node.port_guid(1))
    assert (port.state, port.phys_state) == (IBPortState.ACTIVE, IBPhysState.LINK_UP)
    topo = parse_ibnetdiscover(sim.run("ibnetdiscover", "-p"))
    assert port.lid == {p.id: p.lid for p in topo.ports}[f"{port.port_guid}|1"]
