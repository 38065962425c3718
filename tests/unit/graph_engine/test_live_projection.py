"""The graph kept up to date snapshot by snapshot equals the graph derived whole.

Sequences of snapshots (generated networks, random changes to them, and targeted cases) go
through the graph engine on an embedded LadybugDB. After every step:

- the projection the engine updated in place equals the projection of the same facts built
  whole (``project``) and the one the previous, model-based algorithm builds
  (``support.projection_reference``);
- the difference the step wrote leaves the store holding exactly that projection.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from meshq_graph_engine.diff import GraphDiff, diff, read_projection
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.facts import FactStore, facts_by_scope, row_dict, set_json
from meshq_graph_engine.journal import facts_digest
from meshq_graph_engine.live._rows import implicit_device, implicit_interface
from meshq_graph_engine.projection import NODE_PROPS, Projection, project, shape_node
from network_discovery.model import Device, Interface, MetadataPatch, Snapshot
from support.projection_reference import reference_projection

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
FIREWALL = Path(__file__).resolve().parents[2] / "fixtures" / "snapshots" / "firewall_policy.json"
SYNTH = Path(__file__).resolve().parents[3] / "bench" / "synth.py"


def _synth() -> ModuleType:
    """``bench/synth.py``: the bench's generated networks."""
    found = sys.modules.get("bench_synth")
    if found is not None:
        return found
    spec = importlib.util.spec_from_file_location("bench_synth", SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_synth"] = module
    spec.loader.exec_module(module)
    return module


def generate(devices: int, *, seed: int) -> Any:
    return _synth().generate(devices, seed=seed)


def incremental_change(net: Any, fraction: float, *, seed: int) -> Snapshot:
    return _synth().incremental_change(net, fraction, seed=seed)


#: snapshot list -> fact kind in the scope
_LISTS = {
    "devices": "device",
    "interfaces": "interfaces",
    "ip_addresses": "ip_addresses",
    "vlans": "vlans",
    "arp": "arp",
    "mac_table": "mac_table",
    "bgp_peers": "bgp",
    "endpoints": "endpoints",
    "routes": "routes",
    "firewall_zones": "firewall",
    "firewall_rulesets": "firewall",
    "firewall_rules": "firewall",
    "firewall_objects": "firewall",
}


class World:
    """The facts of a network per device and snapshot list; makes snapshots of some of its
    devices (every list a device has is declared, an emptied one included)."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.facts: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.step = 0
        for name, rows in (data or {}).items():
            if name in _LISTS or name in ("neighbors", "links"):
                for row in rows:
                    self.add(name, copy.deepcopy(row))

    @staticmethod
    def owner(name: str, row: dict[str, Any]) -> str:
        if name == "devices":
            return str(row["hostname"])
        if name == "links":
            return str(row["a"]["device"])
        return str(row["device"])

    @staticmethod
    def kind(name: str, row: dict[str, Any]) -> str:
        if name == "neighbors":
            return str(row["protocol"])
        return _LISTS.get(name, name)

    def lists(self, device: str) -> dict[str, list[dict[str, Any]]]:
        return self.facts.setdefault(device, {})

    def add(self, name: str, row: dict[str, Any]) -> None:
        key = name if name != "neighbors" else f"neighbors:{row['protocol']}"
        self.lists(self.owner(name, row)).setdefault(key, []).append(row)

    def rows(self, device: str, key: str) -> list[dict[str, Any]]:
        return self.lists(device).setdefault(key, [])

    def snapshot(
        self, devices: list[str], *, hours: int | None = None, kinds: set[str] | None = None
    ) -> Snapshot:
        self.step += 1
        data: dict[str, Any] = {
            "snapshot_id": f"s{self.step}",
            "source": "test",
            "collected_at": (
                T0 + timedelta(hours=self.step if hours is None else hours)
            ).isoformat(),
            "scope": [],
        }
        only = kinds
        for device in sorted(set(devices)):
            declared: set[str] = set()
            for key, rows in self.lists(device).items():
                name = key.split(":")[0]
                if name not in _LISTS and name not in ("neighbors", "links"):
                    continue  # kept aside by a change (a dropped entry, emptied lists)
                kind = key.split(":")[1] if name == "neighbors" else _LISTS.get(name, name)
                if (name == "devices" and not rows) or (only is not None and kind not in only):
                    continue
                declared.add(kind)
                data.setdefault(name, []).extend(copy.deepcopy(rows))
            if declared:
                data["scope"].append({"device": device, "facts": sorted(declared)})
        return Snapshot.model_validate(data)


def _copy(p: Projection) -> Projection:
    out = Projection()
    for label, rows in p.nodes.items():
        out.nodes[label] = dict(rows)
    for name, rels in p.rels.items():
        out.rels[name] = dict(rels)
    return out


def _differences(want: Projection, got: Projection) -> dict[str, Any]:
    d = diff(want, got)
    out: dict[str, Any] = {}
    for part in ("added", "removed", "updated", "touched"):
        for label, rows in getattr(d, part).items():
            if rows:
                out[f"{part} {label}"] = rows[:3]
    for part in ("rels_added", "rels_removed", "rels_updated"):
        for name, rows in getattr(d, part).items():
            if rows:
                out[f"{part} {name}"] = rows[:3]
    return out


class Checker:
    """Applies snapshots and patches through the engine, checking the graph after each."""

    def __init__(self, engine: GraphEngine) -> None:
        self.engine = engine
        self.previous = Projection()
        self.steps = 0
        self.diffs: list[GraphDiff] = []

    async def apply(self, snapshot: Snapshot) -> None:
        await self.engine.apply_snapshot(snapshot)
        await self.check(f"snapshot {snapshot.snapshot_id}")

    async def patch(self, patch: MetadataPatch) -> None:
        await self.engine.apply_patch(patch)
        await self.check(f"patch of {patch.hostname}")

    async def check(self, what: str) -> None:
        self.steps += 1
        now = self.engine.projection
        whole = project(self.engine.facts, self.previous)
        assert not _differences(whole, now), (
            what,
            "incremental vs whole",
            _differences(whole, now),
        )
        reference = reference_projection(self.engine.facts, self.previous)
        assert not _differences(reference, now), (
            what,
            "incremental vs previous algorithm",
            _differences(reference, now),
        )
        stored = await read_projection(self.engine.store)
        assert not _differences(now, stored), (
            what,
            "store vs projection",
            _differences(now, stored),
        )
        self.previous = _copy(now)


# --- changes to a world ------------------------------------------------------------------


def _ops(world: World, rng: random.Random) -> Iterator[tuple[str, list[str]]]:
    """Random changes to ``world``, each with the devices whose snapshot carries it."""
    access = sorted(d for d in world.facts if d.startswith("acc-"))
    dists = sorted(d for d in world.facts if d.startswith("dist-"))
    counter = 0
    while True:
        counter += 1
        op = rng.choice(
            [
                "mac_move",
                "arp_move",
                "lldp_drop",
                "lldp_restore",
                "unmanaged",
                "unmanaged_gone",
                "emptied",
                "restored",
                "duplicate_ip",
                "trunk",
                "lag",
                "declared_link",
                "declared_endpoint",
                "own_mac",
                "own_ip",
                "bgp",
                "cdp",
                "recollect",
            ]
        )
        a, b = rng.sample(access, 2)
        if op == "mac_move":
            moving = world.rows(a, "mac_table")
            if not moving:
                continue
            entry = moving.pop(rng.randrange(len(moving)))
            entry = {**entry, "device": b, "interface": f"GigabitEthernet1/0/{rng.randint(1, 4)}"}
            world.rows(b, "mac_table").append(entry)
            yield op, [a, b]
        elif op == "arp_move":
            dist = rng.choice(dists)
            arp = world.rows(dist, "arp")
            macs = [e["mac"] for d in access for e in world.rows(d, "mac_table")]
            if not arp or not macs:
                continue
            i = rng.randrange(len(arp))
            arp[i] = {**arp[i], "mac": rng.choice(macs)}
            yield op, [dist]
        elif op == "lldp_drop":
            entries = world.rows(a, "neighbors:lldp")
            if entries:
                world.rows(a, "dropped").append(entries.pop(rng.randrange(len(entries))))
                yield op, [a]
        elif op == "lldp_restore":
            dropped = world.rows(a, "dropped")
            if dropped:
                world.rows(a, "neighbors:lldp").append(dropped.pop())
                yield op, [a]
        elif op == "unmanaged":
            port = f"GigabitEthernet1/0/{rng.randint(1, 6)}"
            name = rng.choice(
                [f"phone-{counter}.example.com", f"ap-{counter % 3}", None, "HP ProCurve 2510"]
            )
            entry: dict[str, Any] = {
                "protocol": rng.choice(["lldp", "cdp"]),
                "device": a,
                "interface": port,
                "remote_system_name": name,
                "remote_port": rng.choice(["eth0", None, "Port 1"]),
                "remote_chassis_id": f"00:1b:{counter % 256:02x}:00:00:{counter % 7:02x}",
                "remote_management_address": f"192.0.2.{counter % 250 + 1}",
                "remote_platform": "Cisco IP Phone",
                "capabilities": rng.choice([["telephone"], ["bridge", "wlan_access_point"]]),
            }
            world.rows(a, f"neighbors:{entry['protocol']}").append(entry)
            yield op, [a]
        elif op == "unmanaged_gone":
            for protocol in ("lldp", "cdp"):
                entries = world.rows(a, f"neighbors:{protocol}")
                kept = [e for e in entries if e.get("remote_platform") != "Cisco IP Phone"]
                if len(kept) != len(entries):
                    world.lists(a)[f"neighbors:{protocol}"] = kept
                    yield op, [a]
        elif op == "emptied":
            lists = world.lists(a)
            keep = {k: v for k, v in lists.items() if k != "devices"}
            lists["stash"] = [keep]  # type: ignore[list-item]
            for key in keep:
                lists[key] = []
            yield op, [a]
        elif op == "restored":
            lists = world.lists(a)
            stash = lists.pop("stash", None)
            if stash:
                lists.update(stash[0])  # type: ignore[arg-type]
                yield op, [a]
        elif op == "duplicate_ip":
            theirs = world.rows(b, "ip_addresses")
            if theirs:
                world.rows(a, "ip_addresses").append(
                    {
                        **theirs[0],
                        "device": a,
                        "interface": "Loopback0",
                        "vrf": rng.choice([None, "default"]),
                    }
                )
                yield op, [a]
        elif op == "trunk":
            ports = world.rows(a, "interfaces")
            if ports:
                i = rng.randrange(len(ports))
                port = ports[i]
                ports[i] = {**port, "mode": "trunk" if port.get("mode") != "trunk" else "access"}
                macs = world.rows(a, "mac_table")
                for n in range(rng.choice([0, 9])):
                    macs.append(
                        {
                            "device": a,
                            "interface": port["name"],
                            "vlan": 100,
                            "mac": f"02:00:00:00:{counter % 256:02x}:{n:02x}",
                        }
                    )
                yield op, [a]
        elif op == "lag":
            ports = world.rows(a, "interfaces")
            uplinks = [p for p in ports if p["name"].startswith("TenGigabitEthernet")]
            edge = [p for p in ports if p["name"].startswith("GigabitEthernet")]
            if uplinks and edge:
                lag = rng.choice(["Port-channel1", None])
                for p in (uplinks[0], edge[0]):
                    p["lag"] = lag
                if not any(p["name"] == "Port-channel1" for p in ports):
                    ports.append({"device": a, "name": "Port-channel1", "mode": "trunk"})
                yield op, [a]
        elif op == "declared_link":
            links = world.rows(a, "links")
            if links and rng.random() < 0.5:
                links.pop()
            else:
                links.append(
                    {
                        "a": {"device": a, "interface": "GigabitEthernet1/0/48"},
                        "b": {"device": b, "interface": "GigabitEthernet1/0/47"},
                        "evidence": rng.choice(["layer1_declared", "netbox_declared", "lldp_both"]),
                    }
                )
            yield op, [a]
        elif op == "declared_endpoint":
            macs = [e["mac"] for e in world.rows(b, "mac_table")]
            mac = (
                rng.choice(macs)
                if macs and rng.random() < 0.5
                else f"02:aa:00:00:00:{counter % 256:02x}"
            )
            eps = world.rows(a, "endpoints")
            eps[:] = [e for e in eps if e["mac"] != mac]
            eps.append(
                {
                    "mac": mac,
                    "device": a,
                    "interface": "GigabitEthernet1/0/9",
                    "hostname": f"host-{counter}",
                    "first_seen": (T0 - timedelta(days=3)).isoformat(),
                }
            )
            yield op, [a]
        elif op == "own_mac":
            macs = [e["mac"] for e in world.rows(b, "mac_table")]
            ports = world.rows(a, "interfaces")
            if macs and ports:
                i = rng.randrange(len(ports))
                ports[i] = {**ports[i], "mac": rng.choice(macs)}
                yield op, [a]
        elif op == "own_ip":
            dist = rng.choice(dists)
            arp = world.rows(dist, "arp")
            if arp:
                entry = rng.choice(arp)
                record = world.rows(a, "devices")[0]
                record["management_ip"] = entry["ip"]
                yield op, [a]
        elif op == "bgp":
            dist = rng.choice(dists)
            peers = world.rows(dist, "bgp_peers")
            peers[:] = [
                {
                    "device": dist,
                    "local_asn": 65000,
                    "remote_address": f"10.255.0.{n}",
                    "remote_asn": rng.choice([65000, 65100]),
                    "state": rng.choice(["established", "idle"]),
                    "uptime_seconds": rng.randint(1, 10**6),
                }
                for n in range(rng.randint(0, 3))
            ]
            yield op, [dist]
        elif op == "cdp":
            # the other end of a link as CDP, by chassis id or a truncated name
            entries = world.rows(a, "neighbors:lldp")
            if entries:
                e = entries[0]
                name = e["remote_system_name"]
                world.rows(a, "neighbors:cdp")[:] = [
                    {
                        **e,
                        "protocol": "cdp",
                        "remote_system_name": rng.choice([name, f"{name}.corp.example", name[:10]]),
                    }
                ]
                yield op, [a]
        elif op == "recollect":
            yield op, rng.sample(access + dists, 3)


async def _walk(engine: GraphEngine, world: World, seed: int, steps: int) -> Checker:
    checker = Checker(engine)
    await checker.apply(world.snapshot(sorted(world.facts)))
    rng = random.Random(seed)
    ops = _ops(world, rng)
    for _ in range(steps):
        if rng.random() < 0.15:
            device = rng.choice(sorted(d for d in world.facts if world.rows(d, "devices")))
            await checker.patch(
                MetadataPatch(
                    hostname=device,
                    source="user",
                    role=rng.choice(["access", "core", None]) or "edge",
                    tags=rng.choice([("a",), ("b", "a")]),
                )
            )
            continue
        _, devices = next(ops)
        await checker.apply(world.snapshot(devices))
    return checker


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_changes_to_a_generated_network(engine: GraphEngine, seed: int) -> None:
    net = generate(14, seed=seed)
    checker = await _walk(engine, World(net.data), seed, steps=30)
    assert checker.steps == 31


async def test_the_bench_changes_to_a_generated_network(engine: GraphEngine) -> None:
    net = generate(40, seed=5)
    checker = Checker(engine)
    await checker.apply(net.snapshot)
    for fraction, seed in ((0.05, 1), (0.2, 2), (0.05, 1), (0.5, 3)):
        await checker.apply(incremental_change(net, fraction, seed=seed))
    await checker.apply(net.snapshot)  # back as it was


# --- targeted cases ------------------------------------------------------------------------


def _device(name: str, **extra: Any) -> dict[str, Any]:
    return {"hostname": name, "platform": "cisco_ios", **extra}


def _port(device: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"device": device, "name": name, **extra}


def _lldp(
    device: str, port: str, remote: str | None, remote_port: str | None, **extra: Any
) -> dict[str, Any]:
    return {
        "protocol": "lldp",
        "device": device,
        "interface": port,
        "remote_system_name": remote,
        "remote_port": remote_port,
        **extra,
    }


def _small() -> World:
    world = World()
    for name in ("sw1", "sw2", "sw3"):
        world.add("devices", _device(name))
        for n in range(1, 5):
            world.add("interfaces", _port(name, f"GigabitEthernet0/{n}", mode="access"))
    return world


async def test_an_adjacency_seen_from_one_end_then_the_other(engine: GraphEngine) -> None:
    world = _small()
    checker = Checker(engine)
    await checker.apply(world.snapshot(["sw1", "sw2", "sw3"]))
    world.add("neighbors", _lldp("sw1", "GigabitEthernet0/1", "sw2", "GigabitEthernet0/2"))
    await checker.apply(world.snapshot(["sw1"]))
    assert (
        engine.projection.rel("CONNECTED_TO", ("sw1|GigabitEthernet0/1", "sw2|GigabitEthernet0/2"))[
            "evidence"
        ]
        == "lldp_one"
    )  # type: ignore[index]
    world.add("neighbors", _lldp("sw2", "GigabitEthernet0/2", "sw1.example.net", "Gi0/1"))
    await checker.apply(world.snapshot(["sw2"]))
    assert (
        engine.projection.rel("CONNECTED_TO", ("sw1|GigabitEthernet0/1", "sw2|GigabitEthernet0/2"))[
            "evidence"
        ]
        == "lldp_both"
    )  # type: ignore[index]
    world.lists("sw1")["neighbors:lldp"] = []
    await checker.apply(world.snapshot(["sw1"]))
    world.lists("sw2")["neighbors:lldp"] = []
    await checker.apply(world.snapshot(["sw2"]))
    assert not engine.projection.rels["CONNECTED_TO"]
    assert engine.projection.node("Device", "sw1")["degree"] == 0  # type: ignore[index]


async def test_a_neighbour_that_becomes_collected_and_leaves_again(engine: GraphEngine) -> None:
    world = _small()
    world.add(
        "neighbors",
        _lldp(
            "sw1",
            "GigabitEthernet0/3",
            "edge-router-01.example.net",
            "ge-0/0/1",
            remote_chassis_id="00:11:22:33:44:55",
            capabilities=["router"],
        ),
    )
    world.add(
        "neighbors",
        {
            **_lldp("sw2", "GigabitEthernet0/3", None, "Gi0/9"),
            "remote_chassis_id": "00:11:22:33:44:55",
        },
    )
    checker = Checker(engine)
    await checker.apply(world.snapshot(["sw1", "sw2", "sw3"]))
    assert engine.projection.node("Device", "edge-router-01")["managed"] is False  # type: ignore[index]
    # now collected: entries naming it (by name, by chassis) resolve to the collected device
    world.add(
        "devices",
        _device(
            "edge-router-01.example.net", chassis_id="00:11:22:33:44:55", platform="juniper_junos"
        ),
    )
    world.add("interfaces", _port("edge-router-01.example.net", "ge-0/0/1", if_index=501))
    await checker.apply(world.snapshot(["edge-router-01.example.net"]))
    assert engine.projection.node("Device", "edge-router-01") is None
    # its interfaces emptied: the device record stays, the links to it stand on bare ports
    world.lists("edge-router-01.example.net")["interfaces"] = []
    await checker.apply(world.snapshot(["edge-router-01.example.net"]))
    # a neighbour sending an ifIndex as its port id
    world.add(
        "neighbors",
        {
            **_lldp("sw3", "GigabitEthernet0/4", "edge-router-01.example.net", None),
            "remote_port_id": "501",
        },
    )
    world.add("interfaces", _port("edge-router-01.example.net", "ge-0/0/2", if_index=501))
    await checker.apply(world.snapshot(["sw3", "edge-router-01.example.net"]))


async def test_a_declared_link_to_a_device_that_becomes_collected(engine: GraphEngine) -> None:
    world = _small()
    world.add(
        "links",
        {
            "a": {"device": "sw1", "interface": "GigabitEthernet0/2"},
            "b": {"device": "box", "interface": "eth0"},
            "evidence": "layer1_declared",
        },
    )
    world.add(
        "mac_table",
        {"device": "sw1", "interface": "GigabitEthernet0/2", "vlan": 1, "mac": "00:50:56:00:00:09"},
    )
    checker = Checker(engine)
    await checker.apply(world.snapshot(["sw1", "sw2", "sw3"]))
    assert engine.projection.node("Endpoint", "00:50:56:00:00:09")["device"] == "sw1"  # type: ignore[index]
    # the far end is collected: the port leads to a collected device, no longer an edge port
    world.add("devices", _device("box"))
    await checker.apply(world.snapshot(["box"]))
    assert engine.projection.node("Endpoint", "00:50:56:00:00:09") is None


async def test_a_mac_moving_between_switches_and_an_ip_moving_between_macs(
    engine: GraphEngine,
) -> None:
    world = _small()
    world.add("devices", _device("core"))
    for sw in ("sw1", "sw2"):
        world.add("interfaces", _port("core", f"Ethernet1/{sw[-1]}", mode="trunk"))
        world.rows(sw, "interfaces")[3]["mode"] = "trunk"  # GigabitEthernet0/4
        world.add("neighbors", _lldp(sw, "GigabitEthernet0/4", "core", f"Ethernet1/{sw[-1]}"))
        world.add("neighbors", _lldp("core", f"Ethernet1/{sw[-1]}", sw, "GigabitEthernet0/4"))
    world.add("interfaces", _port("core", "Vlan10", mode="routed"))
    world.add("ip_addresses", {"device": "core", "interface": "Vlan10", "address": "10.0.10.1/24"})
    mac1, mac2 = "00:50:56:00:00:01", "00:50:56:00:00:02"
    world.add(
        "mac_table", {"device": "sw1", "interface": "GigabitEthernet0/1", "vlan": 10, "mac": mac1}
    )
    world.add(
        "mac_table", {"device": "sw1", "interface": "GigabitEthernet0/4", "vlan": 10, "mac": mac2}
    )
    world.add(
        "mac_table", {"device": "sw2", "interface": "GigabitEthernet0/4", "vlan": 10, "mac": mac1}
    )
    world.add("mac_table", {"device": "core", "interface": "Ethernet1/1", "vlan": 10, "mac": mac1})
    world.add("arp", {"device": "core", "interface": "Vlan10", "ip": "10.0.10.20", "mac": mac1})
    world.add("arp", {"device": "core", "interface": "Vlan10", "ip": "10.0.10.21", "mac": mac2})
    checker = Checker(engine)
    await checker.apply(world.snapshot(["sw1", "sw2", "sw3", "core"]))
    first_seen = engine.projection.node("Endpoint", mac1)["first_seen"]  # type: ignore[index]
    assert engine.projection.node("Endpoint", mac1)["device"] == "sw1"  # type: ignore[index]
    # the MAC moves to sw2's edge port; sw1 no longer sees it
    world.lists("sw1")["mac_table"] = [
        e for e in world.rows("sw1", "mac_table") if e["mac"] != mac1
    ]
    world.add(
        "mac_table", {"device": "sw2", "interface": "GigabitEthernet0/2", "vlan": 10, "mac": mac1}
    )
    await checker.apply(world.snapshot(["sw1", "sw2"]))
    moved = engine.projection.node("Endpoint", mac1)
    assert moved["device"] == "sw2" and moved["first_seen"] == first_seen  # type: ignore[index]
    # the router's ARP entry moves the address from one MAC to the other
    world.lists("core")["arp"] = [
        {"device": "core", "interface": "Vlan10", "ip": "10.0.10.20", "mac": mac2},
        {"device": "core", "interface": "Vlan10", "ip": "10.0.10.21", "mac": mac2},
    ]
    await checker.apply(world.snapshot(["core"]))
    assert engine.projection.node("Endpoint", mac1)["ips"] == []  # type: ignore[index]
    assert engine.projection.node("Endpoint", mac2)["ips"] == ["10.0.10.20", "10.0.10.21"]  # type: ignore[index]
    # sw1's uplink loses its LLDP entry: the port is an edge port again and places mac2
    world.lists("sw1")["neighbors:lldp"] = []
    world.lists("core")["neighbors:lldp"] = [
        e for e in world.rows("core", "neighbors:lldp") if e["remote_system_name"] != "sw1"
    ]
    await checker.apply(world.snapshot(["sw1", "core"]))
    # an address of the network's own: the ARP entry no longer gives an endpoint address
    world.add(
        "ip_addresses",
        {"device": "sw3", "interface": "GigabitEthernet0/1", "address": "10.0.10.21/24"},
    )
    await checker.apply(world.snapshot(["sw3"]))
    # a MAC of the network's own (an interface's): no endpoint
    world.lists("sw3")["interfaces"][0]["mac"] = mac2
    await checker.apply(world.snapshot(["sw3"]))
    assert engine.projection.node("Endpoint", mac2) is None
    # ARP collected again later: unlocated endpoints' times move
    await checker.apply(world.snapshot(["core"]))


async def test_port_status_and_counts_alone_move_endpoints(engine: GraphEngine) -> None:
    world = _small()
    macs = [f"00:50:56:00:01:{n:02x}" for n in range(9)]
    for mac in macs:
        world.add(
            "mac_table", {"device": "sw1", "interface": "GigabitEthernet0/3", "vlan": 1, "mac": mac}
        )
    checker = Checker(engine)
    await checker.apply(world.snapshot(["sw1", "sw2", "sw3"]))
    assert engine.projection.node("Endpoint", macs[0])["device"] == "sw1"  # type: ignore[index]
    # only the port's mode changes: a trunk with more than 8 MACs leads to another switch
    world.rows("sw1", "interfaces")[2]["mode"] = "trunk"
    await checker.apply(world.snapshot(["sw1"], kinds={"interfaces"}))
    assert engine.projection.node("Endpoint", macs[0]) is None
    # one of its MACs turns out to be the network's own: 8 left, the port is an edge port
    world.rows("sw2", "interfaces")[0]["mac"] = macs[8]
    await checker.apply(world.snapshot(["sw2"], kinds={"interfaces"}))
    assert engine.projection.node("Endpoint", macs[0])["device"] == "sw1"  # type: ignore[index]
    # the port joins a LAG whose other member leads to a collected switch
    world.rows("sw1", "interfaces")[2]["lag"] = "Port-channel1"
    world.rows("sw1", "interfaces")[3]["lag"] = "Port-channel1"
    await checker.apply(world.snapshot(["sw1"], kinds={"interfaces"}))
    world.add("neighbors", _lldp("sw1", "GigabitEthernet0/4", "sw2", "GigabitEthernet0/4"))
    await checker.apply(world.snapshot(["sw1"], kinds={"lldp"}))
    assert engine.projection.node("Endpoint", macs[0]) is None


async def test_devices_appearing_after_their_facts(engine: GraphEngine) -> None:
    world = _small()
    world.add("vlans", {"device": "closet", "vlan": 20, "name": "users"})
    world.add(
        "bgp_peers",
        {
            "device": "closet",
            "local_asn": 65001,
            "remote_address": "10.0.0.9",
            "remote_asn": 65002,
            "state": "established",
        },
    )
    world.add("neighbors", _lldp("sw1", "GigabitEthernet0/3", "HP ProCurve 2510", None))
    checker = Checker(engine)
    await checker.apply(world.snapshot(["sw1", "sw2", "sw3"]))
    await checker.apply(world.snapshot(["closet"], kinds={"vlans", "bgp"}))
    assert not engine.projection.rels["HAS_VLAN"] and not engine.projection.rels["SEES"]
    # interfaces of both make them devices: the VLAN, BGP peer and sighting hang off them
    world.add("interfaces", _port("closet", "Gi0/1"))
    world.add("interfaces", _port("hp-procurve-2510", "1"))
    await checker.apply(world.snapshot(["closet", "hp-procurve-2510"], kinds={"interfaces"}))
    assert engine.projection.rels["HAS_VLAN"] and engine.projection.rels["HAS_BGP_PEER"]
    assert engine.projection.rels["SEES"]
    world.lists("closet")["interfaces"] = []
    world.lists("hp-procurve-2510")["interfaces"] = []
    await checker.apply(world.snapshot(["closet", "hp-procurve-2510"], kinds={"interfaces"}))
    assert not engine.projection.rels["HAS_VLAN"] and not engine.projection.rels["SEES"]


async def test_duplicate_addresses_and_subnets(engine: GraphEngine) -> None:
    world = _small()
    for sw, vrf in (("sw1", None), ("sw2", "default"), ("sw3", "blue")):
        world.add(
            "ip_addresses",
            {"device": sw, "interface": "GigabitEthernet0/1", "address": "10.9.0.1/24", "vrf": vrf},
        )
    checker = Checker(engine)
    await checker.apply(world.snapshot(["sw1", "sw2", "sw3"]))
    world.lists("sw2")["ip_addresses"] = []
    await checker.apply(world.snapshot(["sw2"]))
    world.lists("sw1")["ip_addresses"] = []
    await checker.apply(world.snapshot(["sw1"]))
    assert engine.projection.node("Subnet", "10.9.0.0/24") is None


async def test_firewall_and_route_facts_changing(engine: GraphEngine) -> None:
    data = json.loads(FIREWALL.read_text(encoding="utf-8"))
    world = World(data)
    checker = Checker(engine)
    await checker.apply(world.snapshot(sorted(world.facts)))
    rules = world.rows("edge-fw1", "firewall_rules")
    rules[0] = {**rules[0], "action": "deny", "hit_count": 7}
    world.rows("edge-fw1", "routes").pop()
    await checker.apply(world.snapshot(["edge-fw1"]))
    # the interfaces a zone and a binding name disappear, then come back
    kept = world.rows("edge-fw1", "interfaces")
    world.lists("edge-fw1")["interfaces"] = []
    await checker.apply(world.snapshot(["edge-fw1"]))
    world.lists("edge-fw1")["interfaces"] = kept
    await checker.apply(world.snapshot(["edge-fw1"]))
    for name in (
        "firewall_zones",
        "firewall_rulesets",
        "firewall_rules",
        "firewall_objects",
        "routes",
    ):
        world.lists("dc-srx1")[name] = []
    await checker.apply(world.snapshot(["dc-srx1"]))
    await checker.patch(
        MetadataPatch(hostname="edge-fw1", source="user", criticality="high", site="dc")
    )


async def test_a_device_emptied_and_its_neighbours(engine: GraphEngine) -> None:
    world = World(generate(12, seed=9).data)
    checker = Checker(engine)
    await checker.apply(world.snapshot(sorted(world.facts)))
    dist = sorted(d for d in world.facts if d.startswith("dist-"))[0]
    kept = {k: v for k, v in world.lists(dist).items() if k != "devices"}
    for key in kept:
        world.lists(dist)[key] = []
    await checker.apply(world.snapshot([dist]))
    world.lists(dist).update(kept)
    await checker.apply(world.snapshot([dist]))


@pytest.mark.parametrize("point", ["engine.pause_after_journal", "engine.pause_after_facts"])
async def test_a_write_that_failed_midway_is_made_good_by_the_next_change(
    engine: GraphEngine, point: str
) -> None:
    world = _small()
    world.add("neighbors", _lldp("sw1", "GigabitEthernet0/1", "sw2", "GigabitEthernet0/2"))
    checker = Checker(engine)
    failing = {"on": False}

    def failpoint(name: str) -> bool:
        if name == point and failing["on"]:
            raise RuntimeError("the store went away")
        return False

    engine._failpoint = failpoint
    for step in range(2):  # into an empty graph, then into one that holds the first
        failing["on"] = True
        snapshot = world.snapshot(["sw1", "sw2", "sw3"])
        with pytest.raises(RuntimeError):
            await engine.apply_snapshot(snapshot)
        failing["on"] = False
        if step == 0:
            result = await engine.apply_snapshot(snapshot)  # the consumer's retry
            assert result.added["devices"] == 3
            await checker.check("retried")
        world.rows("sw3", "interfaces").append(_port("sw3", f"GigabitEthernet0/{9 + step}"))
        await checker.apply(world.snapshot(["sw3"]))


# --- the parts --------------------------------------------------------------------------------


def test_implicit_rows_are_what_the_models_dump() -> None:
    iface = Interface(device="sw1", name="eth0")
    assert implicit_interface("sw1", "eth0") == shape_node(
        "Interface", {**iface.model_dump(mode="json"), "id": iface.id}
    )
    device = Device(hostname="sw9", managed=False)
    want = shape_node("Device", {**device.model_dump(mode="json"), "id": device.id, "degree": 0})
    assert (*implicit_device("sw9"), 0) == want
    assert len(NODE_PROPS["Device"]) == len(want)


def test_fact_rows_keep_the_facts_and_their_digest() -> None:
    net = generate(6, seed=3)
    grouped = facts_by_scope(net.snapshot)
    store = FactStore()
    store.replace("s", T0.isoformat(), grouped)
    # the same facts in another order are the same sets, with the same digest
    shuffled = Snapshot.model_validate(
        {
            **net.data,
            "mac_table": net.data["mac_table"][::-1],
            "interfaces": net.data["interfaces"][::-1],
        }
    )
    again_grouped = facts_by_scope(shuffled)
    assert again_grouped == grouped
    assert facts_digest(grouped, store.sets) == facts_digest(again_grouped, again_grouped)
    key = next(k for k, rows in grouped.items() if k[1] == "mac_table" and rows)
    fewer = {**grouped, key: grouped[key][1:]}
    assert facts_digest(grouped, fewer) != facts_digest(grouped, store.sets)
    assert facts_digest([key], {}) != facts_digest([key], store.sets)
    # each row is its fact's JSON form
    for (device, kind), rows in grouped.items():
        if kind == "interfaces":
            want = sorted(
                (i.model_dump(mode="json") for i in net.snapshot.interfaces if i.device == device),
                key=lambda f: json.dumps(f, sort_keys=True),
            )
            assert (
                sorted((row_dict(r) for r in rows), key=lambda f: json.dumps(f, sort_keys=True))
                == want
            )
    # rows read back from their payload are the same rows
    again = FactStore()
    again.load(
        [
            {
                "device": d,
                "kind": k,
                "snapshot_id": "s",
                "collected_at": T0.isoformat(),
                "payload": set_json(rows),
            }
            for (d, k), rows in store.sets.items()
        ],
        [],
    )
    assert again.sets == store.sets
    # a fact written with fields of another version gains the model's defaults
    (d, k), rows = next((key, rows) for key, rows in store.sets.items() if key[1] == "interfaces")
    old = row_dict(rows[0])
    del old["if_index"]
    again.load(
        [
            {
                "device": d,
                "kind": k,
                "snapshot_id": "s",
                "collected_at": "t",
                "payload": json.dumps([old]),
            }
        ],
        [],
    )
    assert again.sets[(d, k)] == (rows[0],)
