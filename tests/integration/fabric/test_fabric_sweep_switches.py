"""``meshq discover`` sweeping a simulated fabric over real SSH: the sweep host runs the real
infiniband-diags against ibsim (its SSH server hands each command to ``ibsim-run``), reads
every switch's port counters and forwarding table, and the graph's ``ib_ports_down`` must
list the errors ibsim was told to count on any switch's port, not only on the host's own.
A login user who may not open the management device gets an error naming the fix, and one
allowed ``sudo -n`` collects through it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.catalogue.fabric import ERROR_THRESHOLDS
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.discovery import (
    Credentials,
    DeviceStatus,
    DiscoveryOptions,
    SecretRef,
    Target,
    build_snapshot,
    collectors,
    discover,
)
from network_discovery.discovery.result import DeviceResult
from network_discovery.model import Snapshot
from support.fabric_host_lab import PASSWORD, USERNAME, FabricHost, serve
from support.ib_fabric import FatTree, fat_tree
from support.ibsim_lab import IbSim, missing_tools

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"InfiniBand simulator tools not installed ({', '.join(_MISSING)}): "
    "apt-get install ibsim-utils infiniband-diags opensm",
)

ENV = "MESHQ_TEST_FABRIC_SWEEP_PASSWORD"
CREDS = Credentials(name="lab", username=USERNAME, password=SecretRef(env=ENV))
#: what a real ibnetdiscover prints when its user cannot open /dev/infiniband/umad0
UMAD = (
    "ibwarn: [4131] mad_rpc_open_port: can't open UMAD port ((null):0)\n"
    "ibnetdiscover: iberror: failed: Failed to open '(null)' port '0'\n"
)
MANAGEMENT = ("ibnetdiscover", "iblinkinfo", "perfquery", "ibroute", "ibqueryerrors")
#: (switch, port, counter, value) set in the simulator
SET = (
    ("leaf01", 3, "SymbolErrorCounter", 17),
    ("leaf02", 5, "LinkDownedCounter", 4),
    ("spine01", 2, "PortRcvErrors", 9),
    ("spine02", 4, "PortXmitDiscards", 250),
)
NAMES = {
    "SymbolErrorCounter": "symbol_errors",
    "LinkDownedCounter": "link_downed",
    "PortRcvErrors": "rcv_errors",
    "PortXmitDiscards": "xmit_discards",
}


def _g(value: int) -> str:
    return f"0x{value:016x}"


@pytest.fixture(scope="module")
def tree() -> FatTree:
    return fat_tree(leaves=4, spines=2, hosts_per_leaf=2, hcas_per_host=2)


@pytest.fixture
def sim(tree: FatTree, tmp_path: Path) -> Iterator[IbSim]:
    lab = IbSim(tree.netfile(), tmp_path).start()
    yield lab
    lab.stop()


def _sweep_host(
    sim: IbSim,
    name: str,
    *,
    umad: bool = True,
    sudo: bool | None = None,
    blocked: tuple[str, ...] = MANAGEMENT,
) -> FabricHost:
    """A host whose commands run against the simulator; without ``umad`` its login user
    cannot open the management device for the ``blocked`` tools (root, through sudo, can)."""

    def run(words: list[str], root: bool) -> tuple[int, str, str]:
        if words and words[0] in blocked and not (umad or root):
            return 1, "", UMAD.replace("ibnetdiscover", words[0])
        return sim.execute(words)

    return FabricHost(name, run=run, sudo=sudo)


def _discover(targets: list[Target]) -> tuple[Snapshot | None, dict[str, DeviceResult]]:
    options = DiscoveryOptions(timeout=20, retries=0)

    async def run() -> Any:
        with collectors(targets, 10) as collect:
            return await discover(targets, options, collect)

    summary = asyncio.run(run())
    return build_snapshot(summary), {r.target.label: r for r in summary.results}


def _target(name: str, port: int, *, sudo: bool = False) -> Target:
    return Target(
        "127.0.0.1",
        "linux",
        name,
        port,
        credentials=CREDS,
        fabric="sweep",
        fabric_sudo=sudo,
    )


async def _ports_down(snapshot: Snapshot, db: Path, **params: object) -> list[dict]:
    store = EmbeddedStore(db)
    engine = GraphEngine(store)
    await engine.start()
    try:
        await engine.apply_snapshot(snapshot)
        ctx = QueryContext(store, engine)
        return (await run_query(REGISTRY, "ib_ports_down", dict(params), ctx)).rows
    finally:
        await store.close()


def test_a_sweep_reads_every_switch_ports_counters(
    sim: IbSim, tree: FatTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    for switch, port, counter, value in SET:
        sim.console(f'PerformanceSet "{switch}"[{port}] PortCounters.{counter}={value}')
    with serve([_sweep_host(sim, "ib-sm01")]) as lab:
        snapshot, results = _discover([_target("ib-sm01", lab.ports["ib-sm01"])])
        received = lab.received["ib-sm01"]
    result = results["ib-sm01"]
    assert result.status is DeviceStatus.OK, result.detail
    assert snapshot is not None
    # one perfquery and one ibroute per switch, by the LIDs ibnetdiscover printed
    lids = {int(m) for m in re.findall(r"^perfquery -l (\d+) 255$", "\n".join(received), re.M)}
    routed = {int(m) for m in re.findall(r"^ibroute (\d+)$", "\n".join(received), re.M)}
    switch_lids = {n.lid for n in snapshot.ib_nodes if n.node_type == "switch"}
    assert lids == routed == switch_lids and len(lids) == len(tree.switches)

    # every switch port has its counters now (the simulator's own ports, all of them)
    counted = {(c.lid, c.port) for c in snapshot.ib_counters if c.port is not None}
    for node in snapshot.ib_nodes:
        if node.node_type == "switch":
            assert node.lid is not None and node.ports is not None
            assert {(node.lid, p) for p in range(1, node.ports + 1)} <= counted

    rows = asyncio.run(_ports_down(snapshot, tmp_path / "db" / "g"))
    listed = {(r["node_guid"], r["port"]): r["errors"] for r in rows if r["errors"]}
    expected: dict[tuple[str, int], dict[str, int]] = {}
    for switch, port, counter, value in SET:
        if value > ERROR_THRESHOLDS[NAMES[counter]]:
            expected[(_g(tree.nodes[switch].guid), port)] = {NAMES[counter]: value}
    assert expected and listed == expected
    every = asyncio.run(_ports_down(snapshot, tmp_path / "db" / "g0", error_threshold=0))
    assert {(r["node_guid"], r["port"]): r["errors"] for r in every if r["errors"]} == {
        (_g(tree.nodes[s].guid), p): {NAMES[c]: v} for s, p, c, v in SET
    }


def test_a_user_without_the_management_device_is_told_the_fix(
    sim: IbSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    hosts = [
        _sweep_host(sim, "plain", umad=False),  # no access, no sudo asked for
        _sweep_host(sim, "nopass", umad=False, sudo=False),  # sudo wants a password
        _sweep_host(sim, "sudoer", umad=False, sudo=True),  # passwordless sudo
        # the sweep works, the counters and tables do not: each switch's failure is not named
        _sweep_host(sim, "partial", umad=False, blocked=("perfquery", "ibroute")),
    ]
    with serve(hosts) as lab:
        snapshot, results = _discover(
            [
                _target("plain", lab.ports["plain"]),
                _target("nopass", lab.ports["nopass"], sudo=True),
                _target("sudoer", lab.ports["sudoer"], sudo=True),
                _target("partial", lab.ports["partial"]),
            ]
        )
        received = lab.received
    plain, nopass, sudoer = results["plain"], results["nopass"], results["sudoer"]
    assert plain.detail.startswith("ibnetdiscover: exit status 1 (ibwarn: [4131] mad_rpc_open")
    assert "/dev/infiniband/umad*" in plain.detail and "fabric: {sudo: true}" in plain.detail
    assert "ibnetdiscover" not in plain.outputs and "ibstat" in plain.outputs
    assert "sudo asked for a password" in nopass.detail and "NOPASSWD" in nopass.detail
    assert received["nopass"][1] == "sudo -n ibnetdiscover"
    assert "sudo -n ibstat" not in received["sudoer"]  # ibstat reads sysfs: no sudo
    assert sudoer.status is DeviceStatus.OK
    assert (
        sudoer.detail == "not installed: nvidia-smi -q -x, nvidia-smi topo -m, dcgmi discovery -l"
    )
    assert "ibnetdiscover" in sudoer.outputs
    assert any(c.startswith("sudo -n perfquery -l ") for c in received["sudoer"])
    assert snapshot is not None and {n.device for n in snapshot.ib_nodes} == {"sudoer", "partial"}
    partial = results["partial"].detail.split("; ")
    assert partial[0].startswith("perfquery -x: exit status 1") and "umad*" in partial[0]
    assert [p.split(":")[0] for p in partial[1:4]] == [
        "perfquery -l 1 255",
        "ibroute 1",
        "perfquery -l 2 255",
    ]
    assert partial[4] == f"and {2 * 6 - 3} more per-switch failures"  # 6 switches, 2 tools each
    assert len(partial) == 6 and partial[5].startswith("not installed: nvidia-smi")
