"""The topology kept up to date from each change against the topology read whole.

A synthetic campus (``bench/synth.py``) is ingested into a real graph engine on the embedded
store; then seeded random sequences of changes (snapshots that re-cable uplinks, bundle them
into LAGs, change switchport modes and allowed VLANs, drop LLDP entries, move and drop
endpoints, change roles; metadata patches) are applied, with questions asked after some of
them and not after others (so changes also pile up between two questions). After each
question the kept topology must be the one read whole from the store, link for link, and the
blast radius of failures on it the same answer, field for field.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import sys
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from meshq_graph_engine.blast import (
    Failure,
    Topology,
    load_topology,
    read_topology,
    simulate,
    warm_up,
)
from meshq_graph_engine.blast._live import live_topology
from meshq_graph_engine.blast._segments import live_segments
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import MetadataPatch, Snapshot

SYNTH = Path(__file__).resolve().parents[3] / "bench" / "synth.py"
KINDS = ["device", "interfaces", "ip_addresses", "lldp", "mac_table", "vlans"]


@cache
def _synth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_synth_live", SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_synth_live", module)
    spec.loader.exec_module(module)
    return module


def _same(live: Topology, fresh: Topology) -> None:
    assert live.devices == fresh.devices
    assert live.links == fresh.links
    assert live.logical == fresh.logical
    assert live.ids == fresh.ids


def _answers(topology: Topology, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for device in rng.sample(topology.ids, min(6, len(topology.ids))):
        failure = Failure("device", device, devices=frozenset({device}), touched={device})
        for depth in (2, 6):
            result = simulate(topology, failure, depth)
            out.append({**result.summary(), "rows": [i.row() for i in result.impacts]})
    for link in rng.sample(sorted(topology.links), min(4, len(topology.links))):
        lk = topology.links[link]
        failure = Failure(
            "link", link, links=frozenset({link}), touched=frozenset({lk.a.device, lk.b.device})
        )
        result = simulate(topology, failure, 3)
        out.append({**result.summary(), "rows": [i.row() for i in result.impacts]})
    return out


class _Changes:
    """Seeded random changes to the campus, each as a snapshot of a few devices."""

    def __init__(self, net: Any, rng: random.Random) -> None:
        self.rng = rng
        self.data = {
            k: [dict(x) for x in v] if isinstance(v, list) else v for k, v in net.data.items()
        }
        self.when = datetime.fromisoformat(self.data["collected_at"])
        self.n = 0

    def _of(self, kind: str, devices: set[str]) -> list[dict[str, Any]]:
        return [x for x in self.data[kind] if x["device"] in devices]

    def snapshot(self) -> Snapshot:
        rng, data = self.rng, self.data
        names = [d["hostname"] for d in data["devices"]]
        # most changes fall on a few busy devices, so that changes build on earlier ones
        pool = names[:8] if rng.random() < 0.7 else names
        chosen = set(rng.sample(pool, rng.randint(1, 3)))
        for _ in range(rng.randint(1, 3)):
            self._mutate(rng.choice(sorted(chosen)), chosen)
        self.n += 1
        self.when += timedelta(minutes=5)
        return Snapshot.model_validate(
            {
                "snapshot_id": f"change-{self.n}",
                "source": "test",
                "collected_at": self.when.isoformat(),
                "scope": [{"device": d, "facts": KINDS} for d in sorted(chosen)],
                "devices": [d for d in data["devices"] if d["hostname"] in chosen],
                "interfaces": self._of("interfaces", chosen),
                "ip_addresses": self._of("ip_addresses", chosen),
                "neighbors": self._of("neighbors", chosen),
                "mac_table": self._of("mac_table", chosen),
                "vlans": self._of("vlans", chosen),
            }
        )

    def _mutate(self, device: str, chosen: set[str]) -> None:
        rng, data = self.rng, self.data
        mine = [i for i in data["interfaces"] if i["device"] == device]
        uplinks = [n for n in data["neighbors"] if n["device"] == device]
        what = rng.choice(["drop_lldp", "recable", "lag", "lag", "mode", "vlans", "macs", "role"])
        if what == "drop_lldp" and uplinks:
            gone = rng.choice(uplinks)
            data["neighbors"].remove(gone)
            if rng.random() < 0.6:  # unplugged: the other end stops seeing it too
                chosen.add(gone["remote_system_name"])
                data["neighbors"] = [
                    n
                    for n in data["neighbors"]
                    if (n["device"], n["interface"])
                    != (gone["remote_system_name"], gone["remote_port"])
                ]
        elif what == "recable":
            # a new cable to another device, seen from both ends
            others = sorted({d["hostname"] for d in data["devices"]} - {device})
            other = rng.choice(others)
            chosen.add(other)
            port_a, port_b = f"Ethernet9/{rng.randint(1, 40)}", f"Ethernet9/{rng.randint(1, 40)}"
            for dev, port in ((device, port_a), (other, port_b)):
                if not any(i["device"] == dev and i["name"] == port for i in data["interfaces"]):
                    data["interfaces"].append({"device": dev, "name": port, "mode": "trunk"})
            for local, lport, remote, rport in (
                (device, port_a, other, port_b),
                (other, port_b, device, port_a),
            ):
                data["neighbors"].append(
                    {
                        "protocol": "lldp",
                        "device": local,
                        "interface": lport,
                        "remote_system_name": remote,
                        "remote_port": rport,
                    }
                )
        elif what == "lag" and uplinks:
            # bundle this device's uplink ports into one aggregate (members without settings)
            lag = "Port-channel1"
            agg = next((i for i in mine if i["name"] == lag), None)
            if agg is not None:  # the aggregate's own settings change: its members follow
                agg["trunk_vlans"] = sorted(rng.sample(range(100, 106), rng.randint(1, 2)))
                agg["mode"] = rng.choice(["trunk", "trunk", "access", None])
            else:
                data["interfaces"].append(
                    {
                        "device": device,
                        "name": lag,
                        "mode": "trunk",
                        "trunk_vlans": [rng.randint(100, 104)],
                    }
                )
            ports = {n["interface"] for n in uplinks}
            for i in mine:
                if i["name"] in ports and rng.random() < 0.8:
                    i["lag"] = lag
                    i.pop("mode", None)
                    i.pop("trunk_vlans", None)
        elif what == "mode" and mine:
            i = rng.choice(mine)
            i["mode"] = rng.choice(["access", "trunk", "routed", None])
            if i["mode"] == "access":
                i["access_vlan"] = rng.randint(100, 104)
        elif what == "vlans" and mine:
            i = rng.choice(mine)
            i["trunk_vlans"] = sorted(rng.sample(range(100, 106), rng.randint(1, 3)))
            if i.get("mode") is None and not i.get("lag"):
                i["mode"] = "trunk"
            i.pop("lag", None) if rng.random() < 0.3 else None
        elif what == "macs":
            macs = [m for m in data["mac_table"] if m["device"] == device]
            if macs:
                for m in rng.sample(macs, max(1, len(macs) // 5)):
                    data["mac_table"].remove(m)
            access = [
                i["name"]
                for i in data["interfaces"]
                if i["device"] == device and i.get("mode") == "access"
            ]
            if access:
                for _ in range(3):
                    self.n += 1
                    data["mac_table"].append(
                        {
                            "device": device,
                            "interface": rng.choice(access),
                            "vlan": rng.randint(100, 104),
                            "mac": f"02:00:00:00:{(self.n >> 8) & 0xFF:02x}:{self.n & 0xFF:02x}",
                        }
                    )
        elif what == "role":
            for d in data["devices"]:
                if d["hostname"] == device:
                    d["role"] = rng.choice(["core", "distribution", "access", "firewall"])

    def patch(self) -> MetadataPatch:
        device = self.rng.choice([d["hostname"] for d in self.data["devices"]])
        return MetadataPatch(
            hostname=device,
            source="user",
            role=self.rng.choice(["core", "access", "border"]),
            criticality=self.rng.choice(["low", "high", "critical"]),
        )


@pytest.mark.parametrize("seed", [1, 2, 3], ids=["seed-1", "seed-2", "seed-3"])
async def test_kept_topology_is_the_one_read_whole(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    net = _synth().generate(60, seed=7, when=datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    store = EmbeddedStore(tmp_path / "graph" / "db")
    try:
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(net.snapshot)
        live = live_topology(store, engine)
        _same(await load_topology(store, engine), await read_topology(store))
        assert live.last == "read"
        changes = _Changes(net, rng)
        updated = 0
        links_seen = {frozenset((await read_topology(store)).links.values())}
        for step in range(16):
            if rng.random() < 0.2:
                await engine.apply_patch(changes.patch())
            else:
                await engine.apply_snapshot(changes.snapshot())
            if rng.random() < 0.35 and step < 15:
                continue  # the next change piles up on this one
            kept = await load_topology(store, engine)
            fresh = await read_topology(store)
            links_seen.add(frozenset(fresh.links.values()))
            assert live.last in ("updated", "cached"), step
            updated += live.last == "updated"
            _same(kept, fresh)
            check = random.Random(step)
            assert _answers(kept, check) == _answers(fresh, random.Random(step))
        assert updated >= 3
        assert len(links_seen) >= 4, "the changes must have moved links"
    finally:
        await store.close()


async def test_a_missed_revision_reads_whole(tmp_path: Path) -> None:
    net = _synth().generate(30, seed=7)
    store = EmbeddedStore(tmp_path / "graph" / "db")
    try:
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(net.snapshot)
        live = live_topology(store, engine)
        await load_topology(store, engine)
        await load_topology(store, engine)
        assert live.last == "cached"
        changes = _Changes(net, random.Random(5))
        await engine.apply_snapshot(changes.snapshot())
        await load_topology(store, engine)
        assert live.last == "updated"
        # a change the topology was not told of key by key (a repair, a gap in revisions)
        engine.revision += 1
        live.on_change(engine.revision + 1, None)
        engine.revision += 1
        _same(await load_topology(store, engine), await read_topology(store))
        assert live.last == "read"
        # a revision that moved without any word: read whole too
        engine.revision += 1
        _same(await load_topology(store, engine), await read_topology(store))
        assert live.last == "read"
    finally:
        await store.close()


async def _settled(views: Any, engine: GraphEngine) -> None:
    for _ in range(2000):
        if all(v.is_current(engine) for v in views):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the kept-warm views did not catch up")


async def test_kept_warm_views_are_current_before_any_question(tmp_path: Path) -> None:
    """warm_up reads the topology and segment lookups in the background, then follows each
    change the same way: the next question finds them current (cached), equal to a read of
    the store; once stopped, a change is left to the next question again."""
    net = _synth().generate(40, seed=7)
    store = EmbeddedStore(tmp_path / "graph" / "db")
    try:
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(net.snapshot)
        stop = warm_up(store, engine)
        views = (live_topology(store, engine), live_segments(store, engine))
        await _settled(views, engine)
        assert views[0].last == "read"
        kept = await load_topology(store, engine)
        assert views[0].last == "cached"
        _same(kept, await read_topology(store))
        changes = _Changes(net, random.Random(11))
        for _ in range(3):
            await engine.apply_snapshot(changes.snapshot())
            await _settled(views, engine)
            assert views[0].last == "updated"  # brought up to date in the background
            kept = await load_topology(store, engine)
            assert views[0].last == "cached"
            # the upstream flows every blast radius starts from: worked out in the background
            assert kept._flow_index is not None
            _same(kept, await read_topology(store))
        # a question before the background refresh: the refresh still works out the flows
        await engine.apply_snapshot(changes.snapshot())
        asked = await load_topology(store, engine)
        assert views[0].last == "updated" and asked._flow_index is None
        for _ in range(500):
            if asked._flow_index is not None:
                break
            await asyncio.sleep(0.01)
        assert asked._flow_index is not None
        await stop()
        await engine.apply_snapshot(changes.snapshot())
        await asyncio.sleep(0.2)
        assert not views[0].is_current(engine)
        _same(await load_topology(store, engine), await read_topology(store))
        assert views[0].last == "updated"
    finally:
        await store.close()
