"""Path analysis's view from a cold start: read whole in a few columnar reads, endpoints kept
as columns, rule sets compiled on first use (or in the background), against the view built
eagerly row by row. The answers must be the same; a view or a set of unreachable lines from
an older revision must never answer.
"""

from __future__ import annotations

import ipaddress
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.firewall import EndpointAddress, Topology, analyse, warm_up
from meshq_graph_engine.firewall._compiled import LazyRules
from meshq_graph_engine.firewall._live import live_view
from meshq_graph_engine.firewall._load import (
    _ADDRESSES,
    _ENDPOINTS,
    endpoint_addresses,
    l3_interface,
    load_policies,
    load_routes,
    read_view,
    view,
)
from meshq_graph_engine.firewall.routes import RouteEntry, RouteTable
from meshq_graph_engine.firewall.topology import Endpoints, _span
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot
from test_fw_live_view import _LISTS, _campus, _Changes, _fixture, _flows, _state


class _RowsOnly:
    """The store as a store without columnar reads (Memgraph's shape): rows only."""

    def __init__(self, store: EmbeddedStore) -> None:
        self._store = store

    async def execute(self, cypher: str, params: dict[str, Any] | None = None) -> Any:
        return await self._store.execute(cypher, params)


async def _eager(store: EmbeddedStore) -> Topology:
    """The view as it was built before: every row a dictionary, every endpoint an object,
    every rule compiled at once."""
    interfaces = [l3_interface(r) for r in await store.execute(_ADDRESSES)]
    endpoints = [e for r in await store.execute(_ENDPOINTS) for e in endpoint_addresses(r)]
    return Topology(interfaces, endpoints, await load_routes(store), await load_policies(store))


def _answers(t: Topology, flows: list[tuple[str, str, str, int | None]]) -> list[Any]:
    return [analyse(t, s, d, p, port).rows() for s, d, p, port in flows]


async def _engine(tmp_path: Path, data: dict[str, Any]) -> tuple[EmbeddedStore, GraphEngine]:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(Snapshot.model_validate(data))
    return store, engine


@pytest.mark.parametrize("base", ["fixture", "campus"])
async def test_the_cold_view_answers_as_the_eager_one(tmp_path: Path, base: str) -> None:
    store, _ = await _engine(tmp_path, _fixture() if base == "fixture" else _campus())
    try:
        eager = await _eager(store)
        cold = (await read_view(store, ("cold",))).topology
        rows = (await read_view(_RowsOnly(store), ("rows",))).topology  # type: ignore[arg-type]
        lazy = [b.rule_set for p in cold.policies.values() for b in p.bindings if p.bindings]
        assert lazy and all(isinstance(rs.rules, LazyRules) for rs in lazy)
        assert not any(rs.ready for rs in lazy), "nothing compiled before a question"
        flows = _flows(eager, random.Random(7)) + _flows(eager, random.Random(8))
        # answered first (compiling on the way), then compared whole
        assert _answers(cold, flows) == _answers(eager, flows)
        assert _answers(rows, flows) == _answers(eager, flows)
        assert _state(cold) == _state(eager)
        assert _state(rows) == _state(eager)
    finally:
        await store.close()


async def test_path_analysis_from_nothing_equals_the_warm_answer(tmp_path: Path) -> None:
    data = _campus()
    store, engine = await _engine(tmp_path, data)
    try:
        eager = await _eager(store)
        flows = [f for f in _flows(eager, random.Random(3)) if f[2] != "icmp"][:6]
        assert flows
        ctx = QueryContext(store, engine)

        async def ask() -> list[Any]:
            return [
                (
                    await run_query(
                        REGISTRY,
                        "path_analysis",
                        {"source": s, "destination": d, "protocol": p, "port": port},
                        ctx,
                    )
                ).rows
                for s, d, p, port in flows
            ]

        cold = await ask()  # the first reads the view and compiles what it meets
        live = live_view(store, engine)
        await live.ready()  # the rest compiled in the background
        kept = await view(store, engine)
        sets = [b.rule_set for p in kept.topology.policies.values() for b in p.bindings]
        assert sets and all(rs.ready for rs in sets)
        warm = await ask()
        assert live.last == "cached"
        assert cold == warm
        assert warm == [analyse(eager, s, d, p, port).rows() for s, d, p, port in flows]
    finally:
        await store.close()


async def test_warm_up_reads_and_compiles_before_the_first_question(tmp_path: Path) -> None:
    data = _fixture()
    store, engine = await _engine(tmp_path, data)
    try:
        stop = warm_up(store, engine)
        live = live_view(store, engine)
        await live.ready()
        assert live.last == "read"
        kept = await view(store, engine)
        assert live.last == "cached"
        sets = [b.rule_set for p in kept.topology.policies.values() for b in p.bindings]
        assert sets and all(rs.ready for rs in sets)
        # kept warm: each change is followed in the background, before any question
        changes = _Changes(data, random.Random(9))
        for _ in range(3):
            await engine.apply_snapshot(changes.snapshot())
            await live.ready()
            assert live.last in ("updated", "read")
            current = await view(store, engine)
            assert live.last == "cached" and current.key == ("revision", engine.revision)
            assert _state(current.topology) == _state(await _eager(store))
        await stop()
        await engine.apply_snapshot(changes.snapshot())
        await live.ready()
        assert live.last == "cached", "stopped: no work in the background any more"
        await view(store, engine)
        assert live.last == "updated"
    finally:
        await store.close()


async def test_a_view_of_an_older_revision_never_answers(tmp_path: Path) -> None:
    data = _fixture()
    store, engine = await _engine(tmp_path, data)
    try:
        live = live_view(store, engine)
        first = await view(store, engine)
        assert first.key == ("revision", engine.revision)
        changes = _Changes(data, random.Random(5))
        for _ in range(4):
            await engine.apply_snapshot(changes.snapshot())
            kept = await view(store, engine)
            assert kept.key == ("revision", engine.revision)
            assert live.last in ("updated", "cached")
            assert _state(kept.topology) == _state(await _eager(store))
        # a revision that moved without a word: read whole again, never the kept one
        engine.revision += 1
        again = await view(store, engine)
        assert live.last == "read" and again.key == ("revision", engine.revision)
    finally:
        await store.close()


def _device_snapshot(data: dict[str, Any], device: str) -> Snapshot:
    """A snapshot of one device's facts as ``data`` holds them now."""
    when = datetime.fromisoformat(str(data["collected_at"])) + timedelta(hours=1)
    return Snapshot.model_validate(
        {
            "snapshot_id": f"cold-{device}",
            "source": "test",
            "collected_at": when.isoformat(),
            "scope": [s for s in data["scope"] if s["device"] == device],
            "devices": [d for d in data["devices"] if d["hostname"] == device],
            **{
                k: [x for x in data.get(k, ()) if x["device"] == device]
                for k in _LISTS
                if k in data
            },
        }
    )


async def _lines(ctx: QueryContext, device: str = "") -> list[dict[str, Any]]:
    result = await run_query(REGISTRY, "filter_line_reachability", {"device": device}, ctx)
    return result.rows


async def test_unreachable_lines_need_no_view_and_follow_each_change(tmp_path: Path) -> None:
    data = _fixture()
    store, engine = await _engine(tmp_path, data)
    try:
        ctx = QueryContext(store, engine)
        live = live_view(store, engine)
        before = await _lines(ctx)
        assert before, "the fixture has unreachable lines"
        assert live._view is None, "filter_line_reachability read path analysis's view"
        device = before[0]["device"]
        assert await _lines(ctx, device) == [r for r in before if r["device"] == device]
        # drop every rule of that device: its unreachable lines are gone at the next revision
        data["firewall_rules"] = [r for r in data["firewall_rules"] if r["device"] != device]
        await engine.apply_snapshot(_device_snapshot(data, device))
        after = await _lines(ctx)
        assert not [r for r in after if r["device"] == device]
        assert await _lines(ctx, device) == []
        # lines of devices the change did not touch are kept, and still right
        others = [r for r in before if r["device"] != device]
        assert [r for r in after if r["device"] != device] == others
    finally:
        await store.close()


def _reference(items: list[tuple[str, list[EndpointAddress]]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for _, found in items:
        for e in found:
            out.setdefault(e.ip, []).append(e)
    return {
        ip: sorted(v, key=lambda e: (e.ip, e.mac, e.device or "", e.interface or ""))
        for ip, v in out.items()
    }


def test_endpoints_kept_as_columns_follow_replacements() -> None:
    from meshq_graph_engine.firewall._columns import _index
    from meshq_graph_engine.firewall.topology import EndpointTable

    rng = random.Random(11)
    pool = [f"10.0.0.{n}" for n in range(12)]

    def endpoint(mac: str) -> list[EndpointAddress]:
        return [
            EndpointAddress(ip, mac, rng.choice(["sw1", "sw2", None]), rng.choice(["p1", None]))
            for ip in rng.sample(pool, rng.randint(0, 2))
        ]

    macs = [f"00:00:00:00:00:{n:02x}" for n in range(20)]
    current = {mac: endpoint(mac) for mac in macs}
    rows = [(mac, found) for mac, found in current.items()]
    ips = [e.ip for _, found in rows for e in found]
    owners = [n for n, (_, found) in enumerate(rows) for _ in found]
    first, more = _index(ips, owners)
    # one device and interface per endpoint row, as the graph holds them
    for n, (mac, found) in enumerate(rows):
        current[mac] = [EndpointAddress(e.ip, mac, f"sw{n}", "p1") for e in found]
    table = EndpointTable(macs, [f"sw{n}" for n in range(20)], ["p1"] * 20, first, more)
    kept = Endpoints(table)
    assert dict(kept.items()) == _reference(list(current.items()))
    for _ in range(60):
        changed = rng.sample(macs, rng.randint(1, 3))
        for mac in changed:
            current[mac] = endpoint(mac)
        kept.replace(changed, [e for mac in changed for e in current[mac]])
        assert dict(kept.items()) == _reference(list(current.items()))
        probe = rng.choice(pool)
        assert kept.get(probe) == _reference(list(current.items())).get(probe)


@pytest.mark.parametrize(
    "text",
    ["10.1.2.3/24", "10.1.2.0/24", "0.0.0.0/0", "192.0.2.7", "192.0.2.7/32", "10.0.0.1/31",
     "2001:db8::1/64", "::/0", "010.1.2.3/24", "10.1.2.3/33", "1.2.3.256/8"],
)  # fmt: skip
def test_networks_read_fast_are_read_as_ipaddress_reads_them(text: str) -> None:
    try:
        n = ipaddress.ip_network(text, strict=False)
    except ValueError:
        with pytest.raises(ValueError):
            _span(text)
        return
    assert _span(text) == (
        n.version,
        int(n.network_address),
        int(n.broadcast_address),
        n.prefixlen,
        str(n),
    )
    table = RouteTable([RouteEntry("r1", text, protocol="static")])
    probe = str(n.network_address + (n.num_addresses - 1))
    found = table.lookup(probe)
    assert found is not None and found.prefix == text


def test_random_v4_networks_read_fast_as_ipaddress_reads_them() -> None:
    rng = random.Random(2)
    for _ in range(2000):
        text = f"{ipaddress.ip_address(rng.randrange(1 << 32))}/{rng.randint(0, 32)}"
        n = ipaddress.ip_network(text, strict=False)
        assert _span(text)[1:] == (
            int(n.network_address),
            int(n.broadcast_address),
            n.prefixlen,
            str(n),
        )


async def test_rules_compiled_a_few_at_a_time_are_the_rules_compiled_at_once(
    tmp_path: Path,
) -> None:
    store, _ = await _engine(tmp_path, _campus())
    try:
        eager = await load_policies(store)
        cold = (await read_view(store, ("cold",))).topology
        for device, policy in sorted(cold.policies.items()):
            for mine, theirs in zip(policy.bindings, eager[device].bindings, strict=True):
                rules = mine.rule_set.rules
                assert isinstance(rules, LazyRules) and not rules.ready
                steps = 1
                while not rules.step(7):
                    steps += 1
                assert rules.ready and steps > 1
                assert list(rules) == list(theirs.rule_set.rules)
                assert mine.rule_set.active == theirs.rule_set.active
    finally:
        await store.close()
