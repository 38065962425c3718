"""Property tests: on random graphs, the affected and degraded sets match an independent
computation (networkx breadth-first search and maximum flow), for device and link failures."""

from __future__ import annotations

import math

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st
from meshq_graph_engine.blast import Device, Failure, Link, LinkEnd, Topology, simulate

ROLES = ["core", "firewall", "distribution", "access", None]


@st.composite
def networks(draw: st.DrawFn) -> tuple[Topology, Failure, int]:
    n = draw(st.integers(2, 12))
    roles = draw(st.lists(st.sampled_from(ROLES), min_size=n, max_size=n))
    devices = [Device(f"d{i:02d}", True, roles[i], None, draw(st.integers(0, 3))) for i in range(n)]
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            max_size=3 * n,
        )
    )
    links = []
    for k, (a, b) in enumerate(pairs):
        ea = LinkEnd(f"d{a:02d}|p{k}", f"d{a:02d}", f"p{k}")
        eb = LinkEnd(f"d{b:02d}|p{k}", f"d{b:02d}", f"p{k}")
        links.append(Link(f"l{k:03d}", ea, eb))
    topology = Topology(devices, links)
    depth = draw(st.integers(1, 6))
    if links and draw(st.booleans()):
        link = draw(st.sampled_from(links))
        failure = Failure(
            "link",
            link.id,
            links=frozenset({link.id}),
            touched=frozenset({link.a.device, link.b.device}),
        )
    else:
        device = draw(st.sampled_from(devices)).id
        failure = Failure(
            "device", device, devices=frozenset({device}), touched=frozenset({device})
        )
    return topology, failure, depth


def _graph(topology: Topology, failure: Failure | None = None) -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_nodes_from(topology.ids)
    for link in topology.links.values():
        if failure is not None and link.id in failure.links:
            continue
        g.add_edge(link.a.device, link.b.device)
    if failure is not None:
        g.remove_nodes_from(failure.devices)
    return g


def _upstream(topology: Topology, g: nx.MultiGraph) -> set[str]:
    by_role = {d.id for d in topology.devices.values() if d.role in ("core", "firewall")}
    if by_role:
        return by_role
    largest = min(nx.connected_components(g), key=lambda c: (-len(c), min(c)))
    degree = {v: len(set(g.neighbors(v))) for v in largest}
    return {v for v, d in degree.items() if d == max(degree.values())}


def _reaches(g: nx.MultiGraph, v: str, targets: set[str]) -> bool:
    return any(t in g and nx.has_path(g, v, t) for t in targets)


def _upstream_paths(g: nx.MultiGraph, v: str, targets: set[str], height: dict[str, float]) -> int:
    """Max flow from v to the live upstream over links oriented by the pre-failure height."""
    d = nx.DiGraph()
    for a, b in g.edges():
        for x, y in ((a, b), (b, a)):
            if height[y] <= height[x]:
                cap = d.get_edge_data(x, y, {"capacity": 0})["capacity"]
                d.add_edge(x, y, capacity=cap + 1)
    for t in targets:
        if t in g:
            d.add_edge(t, "__sink__")  # no capacity attribute: unbounded
    if v not in d or "__sink__" not in d:
        return 0
    return int(nx.maximum_flow_value(d, v, "__sink__"))


@settings(max_examples=300, deadline=None)
@given(networks())
def test_affected_and_degraded_match_an_independent_computation(
    case: tuple[Topology, Failure, int],
) -> None:
    topology, failure, depth = case
    before, after = _graph(topology), _graph(topology, failure)
    up = _upstream(topology, before)
    live_up = up - failure.devices
    hops = nx.multi_source_dijkstra_path_length(before, set(failure.touched))
    height = {v: math.inf for v in before}
    height.update(nx.multi_source_dijkstra_path_length(before, up))

    result = simulate(topology, failure, depth)
    expected_affected, expected_degraded = set(failure.devices), set()
    for v, hop in hops.items():
        if hop > depth or v in failure.devices or v in live_up or height[v] == math.inf:
            continue
        if not _reaches(after, v, live_up):
            expected_affected.add(v)
        elif _upstream_paths(after, v, live_up, height) < _upstream_paths(before, v, up, height):
            expected_degraded.add(v)

    affected = set(result.affected_devices)
    assert affected == expected_affected
    assert set(result.degraded_devices) == expected_degraded
    # the two statements, checked directly
    for v in affected - failure.devices:
        assert not _reaches(after, v, live_up), f"{v} still reaches the upstream"
    for v, hop in hops.items():
        if hop <= depth and height[v] < math.inf and v in after and v not in live_up:
            if not _reaches(after, v, live_up):
                assert v in affected
    assert 0.0 <= result.blast_radius_pct <= 100.0 and 0 <= result.impact_score <= 100
