"""The indexed simulation against the reference one (one path search per device within depth,
``support.blast_reference``): on the synthetic campus of ``bench/synth.py`` with seeded
changes (peer links, access rings and chains, single-homed switches with and without a
detour, LAGs, parallel cables, an island, no upstream role), core, distribution, access and
link failures at every depth give the same answer, field for field; what-if's path counts
are the reference's."""

from __future__ import annotations

import importlib.util
import random
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from meshq_graph_engine.blast import (
    Device,
    Failure,
    Link,
    LinkEnd,
    Topology,
    apply_changes,
    compare,
    simulate,
)
from meshq_graph_engine.blast._analysis import climbing, flow_index, upstream
from network_discovery.model import canonical_interface_name, ids
from support.blast_reference import reference_counts, reference_simulate

SYNTH = Path(__file__).resolve().parents[3] / "bench" / "synth.py"


@cache
def _synth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_synth", SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_synth", module)
    spec.loader.exec_module(module)
    return module


@cache
def _campus(devices: int, seed: int) -> tuple[list[Device], list[Link]]:
    """The synthetic campus as the analysis reads it: devices, and one link per LLDP pair."""
    data = _synth().generate(devices, seed=seed).data
    endpoints = Counter(m["device"] for m in data["mac_table"])
    out = [
        Device(d["hostname"], True, d["role"], None, endpoints.get(d["hostname"], 0))
        for d in data["devices"]
    ]
    links: dict[str, Link] = {}
    for n in data["neighbors"]:
        a, b = n["device"], n["remote_system_name"]
        an = canonical_interface_name(n["interface"])
        bn = canonical_interface_name(n["remote_port"])
        ia, ib = ids.interface_id(a, an), ids.interface_id(b, bn)
        link_id = ids.link_id(ia, ib)
        links.setdefault(link_id, Link(link_id, LinkEnd(ia, a, an), LinkEnd(ib, b, bn)))
    return out, list(links.values())


def _network(devices: int, seed: int) -> Topology:
    """The campus with seeded changes that give the path search something to do (the
    generator's own seed varies only addresses, so one campus per size is enough)."""
    rng = random.Random(seed)
    base, cables = _campus(devices, 7)
    found = list(base)
    links = [lk for lk in cables if rng.random() > 0.03]  # some switches single-homed
    by_role: dict[str | None, list[str]] = {}
    for d in found:
        by_role.setdefault(d.role, []).append(d.id)
    port = Counter[str]()

    def cable(a: str, b: str, lag: str | None = None) -> str:
        port[a] += 1
        port[b] += 1
        an, bn = f"Ethernet9/{port[a]}", f"Ethernet9/{port[b]}"
        ia, ib = ids.interface_id(a, an), ids.interface_id(b, bn)
        link_id = ids.link_id(ia, ib)
        links.append(Link(link_id, LinkEnd(ia, a, an, lag), LinkEnd(ib, b, bn, lag)))
        return link_id

    dists, access = by_role["distribution"], by_role["access"]
    cable("core-01", "core-02")
    for i in range(0, len(dists) - 1, 2):  # most distribution pairs are cabled to each other
        if rng.random() < 0.7:
            cable(dists[i], dists[i + 1])
    for _ in range(len(access) // 10):  # access switches cabled to each other
        cable(*rng.sample(access, 2))
    for _ in range(len(access) // 20):  # a second cable to the same switch, or a LAG
        a, d = rng.choice(access), rng.choice(dists)
        lag = "Port-channel1" if rng.random() < 0.5 else None
        cable(a, d, lag)
        cable(a, d, lag)
    for k in range(6):  # chains hanging off access switches, and an island
        parent = rng.choice(access)
        for j in range(rng.randint(1, 5)):
            name = f"chain-{k}-{j}"
            found.append(Device(name, rng.random() < 0.8, rng.choice(["access", None]), None, 3))
            cable(parent, name)
            parent = name
    on_dist = set(dists)
    uplinks = Counter(
        end.device
        for lk in links
        for end, other in ((lk.a, lk.b), (lk.b, lk.a))
        if other.device in on_dist
    )
    lone = sorted(a for a in access if uplinks[a] == 1)[:2]
    for k, parent in enumerate(lone):  # a way round through switches further down
        found += [
            Device(f"detour-{k}-0", True, "access", None),
            Device(f"detour-{k}-1", True, None, None),
        ]
        cable(parent, f"detour-{k}-0")
        cable(f"detour-{k}-0", f"detour-{k}-1")
        cable(f"detour-{k}-1", rng.choice(access))
    found += [Device("island-1", True, "access", None), Device("island-2", True, None, None)]
    cable("island-1", "island-2")
    if seed % 3 == 0:  # no upstream role: the best-connected devices are the upstream
        found = [Device(d.id, d.managed, None, d.criticality, d.endpoints) for d in found]
    return Topology(found, links)


def _device(topology: Topology, device: str) -> Failure:
    return Failure("device", device, devices=frozenset({device}), touched=frozenset({device}))


def _links(topology: Topology, link_ids: list[str]) -> Failure:
    touched = set()
    for link_id in link_ids:
        link = topology.links[link_id]
        touched |= {link.a.device, link.b.device}
    return Failure("link", link_ids[0], links=frozenset(link_ids), touched=frozenset(touched))


def _failures(topology: Topology, seed: int) -> list[Failure]:
    rng = random.Random(seed)
    by_role: dict[str, list[str]] = {}
    for d in topology.devices.values():
        by_role.setdefault(d.role or "", []).append(d.id)
    up, _ = upstream(topology)
    targets = [topology.ids[n] for n in sorted(up)][:2]
    targets += ["core-01", "core-02"]
    for role in ("distribution", "access", ""):
        targets += rng.sample(sorted(by_role.get(role, [])), min(3, len(by_role.get(role, []))))
    for k in range(2):  # the distribution switch of a single-homed switch with a detour
        if f"detour-{k}-0" in topology.index:
            (lone,) = [
                topology.ids[n]
                for _, n in topology.adj[topology.index[f"detour-{k}-0"]]
                if not topology.ids[n].startswith("detour")
            ]
            targets += [
                topology.ids[n]
                for _, n in topology.adj[topology.index[lone]]
                if topology.devices[topology.ids[n]].role == "distribution"
            ]
    out = [_device(topology, t) for t in dict.fromkeys(targets)]
    by_members = sorted(topology.logical, key=lambda ll: -len(ll.members))
    picks = [by_members[0].members[:1], by_members[0].members]  # one LAG member; the bundle
    picks += [rng.choice(topology.logical).members for _ in range(4)]
    picks.append([m for ll in rng.sample(topology.logical, 25) for m in ll.members])
    steps = climbing(topology, up)
    candidates = sorted(by_role.get("access") or topology.ids)
    for a in [*candidates[:2], *rng.sample(candidates, 5)]:  # two links in a row
        node = topology.index[a]
        if len(steps[node]) > 1 and steps[steps[node][0][1]]:
            e, d = steps[node][0]
            picks.append([*topology.logical[e].members, *topology.logical[steps[d][0][0]].members])
    out += [_links(topology, list(p)) for p in picks]
    return out


CASES = [(250, 1), (400, 2), (400, 3), (2000, 4)]


@pytest.mark.parametrize(("devices", "seed"), CASES)
def test_the_index_gives_the_reference_answer(devices: int, seed: int) -> None:
    topology = _network(devices, seed)
    failures = _failures(topology, seed)
    depths = range(1, 7) if devices < 1000 else (1, 3, 6)
    checked = degraded = affected = detour = 0
    for failure in failures:
        for depth in depths:
            got = simulate(topology, failure, depth)
            want = reference_simulate(topology, failure, depth)
            where = f"{failure.kind} {failure.target} depth {depth}"
            assert [i.row() | {"hops": i.hops} for i in got.impacts] == [
                i.row() | {"hops": i.hops} for i in want.impacts
            ], where
            assert got.summary() == want.summary(), where
            assert got == want, where
            checked += 1
            degraded += len(got.degraded_devices)
            affected += len(got.affected_devices)
            detour += sum(1 for i in got.impacts if i.status == "degraded" and not i.paths_after)
    # the networks exercise every outcome
    assert checked == len(failures) * len(depths)
    assert degraded > 0 and affected > len(failures)
    if seed % 3:  # with the upstream by role: a switch left with only a way round
        assert detour > 0


@pytest.mark.parametrize(("devices", "seed"), CASES[:3])
def test_the_index_counts_are_the_reference_counts(devices: int, seed: int) -> None:
    topology = _network(devices, seed)
    index = flow_index(topology)
    want = reference_counts(topology)
    got = {d: int(index.count[topology.index[d]]) for d in want}
    assert got == want
    assert flow_index(topology) is index  # built once per topology (per graph revision)


async def test_whatif_counts_agree_with_the_reference() -> None:
    before = _network(400, 5)
    dists = sorted(d.id for d in before.devices.values() if d.role == "distribution")
    changes = [{"action": "remove_device", "device": d} for d in dists[:3]]
    after = await apply_changes(before, None, changes)  # removals never read the store
    answer = compare(before, after)
    counts_b, counts_a = reference_counts(before), reference_counts(after)
    want = [
        {"device": d, "paths_before": counts_b[d], "paths_after": counts_a[d]}
        for d in before.ids
        if d in counts_b and d in counts_a and counts_a[d] < counts_b[d]
    ]
    assert answer["lost_redundancy"] == want
    assert want
