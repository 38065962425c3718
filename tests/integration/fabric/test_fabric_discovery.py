"""``meshq discover`` on GPU/InfiniBand hosts: real SSH (asyncssh on loopback) to hosts that
answer the fabric tools with real captures; what they print is read as ``meshq ingest``
reads the same files; missing tools are reported and the rest collected; a failing tool is
named; an output over its bound is not collected; a host marked ``fabric: true`` is never
asked to sweep the fabric."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from network_discovery.cli import cli
from network_discovery.discovery import (
    Credentials,
    DeviceStatus,
    DiscoveryOptions,
    SecretRef,
    Target,
    build_snapshot,
    collectors,
    discover,
    fabric_hosts,
    load_inventory,
)
from network_discovery.discovery.inventory import InventoryError
from network_discovery.model import Snapshot
from network_discovery.parsers import parse_directory
from support.fabric_host_lab import PASSWORD, REAL, USERNAME, FabricHost, serve

ENV = "MESHQ_TEST_FABRIC_LAB_PASSWORD"
CREDS = Credentials(name="lab", username=USERNAME, password=SecretRef(env=ENV))
IB = REAL / "infiniband"
GPU = REAL / "gpu"
CAPTURES = {
    "ibnetdiscover": IB / "ibnetdiscover_rdma_core_manpage.txt",
    "iblinkinfo": IB / "iblinkinfo_sb7700_edr.txt",
    "ibstat": IB / "ibstat_roce_cx6.txt",
    "perfquery -x": IB / "perfquery_legacy_names.txt",
    "nvidia-smi -q -x": GPU / "nvidia-smi" / "a100-sxm4-v12.xml",
    "nvidia-smi topo -m": GPU / "topo" / "h800-8gpu-4nic.txt",
    "dcgmi discovery -l": GPU / "dcgmi" / "discovery-h800.txt",
}
UMAD = (
    "ibwarn: [4131] mad_rpc_open_port: can't open UMAD port ((null):0)\n"
    "ibnetdiscover: iberror: failed: Failed to open '(null)' port '0'\n"
)
GPU_ONLY = ("nvidia-smi -q -x", "nvidia-smi topo -m")


def _capture(command: str) -> str:
    return CAPTURES[command].read_text()


def _hosts() -> list[FabricHost]:
    every = {command: path.read_text() for command, path in CAPTURES.items()}
    return [
        FabricHost("gpu-a", outputs=every),  # a sweep host with every tool
        FabricHost("gpu-b", outputs={c: every[c] for c in GPU_ONLY}),  # no InfiniBand, no DCGM
        FabricHost(  # a sweep host whose account cannot open the fabric
            "gpu-c",
            outputs={c: t for c, t in every.items() if c != "ibnetdiscover"},
            failing={"ibnetdiscover": (1, UMAD)},
        ),
    ]


ROLES = {"gpu-a": "sweep", "gpu-b": True, "gpu-c": "sweep"}


def _inventory(folder: Path, ports: dict[str, int]) -> Path:
    path = folder / "inventory.yaml"
    doc = {
        "credentials": {"lab": {"username": USERNAME, "password_env": ENV}},
        "defaults": {"credentials": "lab", "address": "127.0.0.1"},
        "hosts": {name: {"port": ports[name], "fabric": ROLES[name]} for name in ports},
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def _discover(targets: list[Target]) -> tuple[Snapshot | None, dict[str, object]]:
    options = DiscoveryOptions(timeout=10, retries=0)

    async def run():  # type: ignore[no-untyped-def]
        with collectors(targets, 10) as collect:
            return await discover(targets, options, collect)

    summary = asyncio.run(run())
    return build_snapshot(summary), {r.target.label: r for r in summary.results}


def _by_owner(snapshot: Snapshot, kind: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in getattr(snapshot, kind):
        data = item.model_dump(mode="json")
        out.setdefault(data["device"], []).append(data)
    for rows in out.values():
        rows.sort(key=repr)
    return out


KINDS = ("ib_nodes", "ib_ports", "ib_links", "ib_counters", "ib_adapters", "gpus", "gpu_affinity")


def test_fabric_hosts_are_collected_and_read_as_ingest_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    with serve(_hosts()) as lab:
        inventory = load_inventory(_inventory(tmp_path, lab.ports))
        snapshot, results = _discover(list(inventory.targets))
        received = lab.received
    assert snapshot is not None

    a, b, c = results["gpu-a"], results["gpu-b"], results["gpu-c"]
    # the capture's switches: their counters and routes are asked for, which this host lacks
    switch_commands = [t.command for t in fabric_hosts.switch_tools(_capture("ibnetdiscover"))[0]]
    assert switch_commands and a.status is DeviceStatus.OK
    assert (a.detail, a.unavailable) == (
        "not installed: perfquery, ibroute",
        ["perfquery", "ibroute"],
    )
    # missing tools are reported, not fatal
    assert b.status is DeviceStatus.OK
    assert b.unavailable == ["ibstat", "perfquery -x", "dcgmi discovery -l"]
    assert b.detail == "not installed: ibstat, perfquery -x, dcgmi discovery -l"
    # a failing sweep is named with its exit status and first line; the rest is collected
    assert c.status is DeviceStatus.OK and "ibnetdiscover" not in c.outputs
    assert c.detail.startswith("ibnetdiscover: exit status 1 (ibwarn: [4131] mad_rpc_open_port")
    # a host marked fabric: true never sweeps the fabric
    assert received["gpu-b"] == ["hostname", *(t.command for t in fabric_hosts.HOST_TOOLS)]
    first = len(fabric_hosts.FABRIC_TOOLS) + 1
    assert received["gpu-a"][1:first] == [t.command for t in fabric_hosts.FABRIC_TOOLS]
    assert sorted(received["gpu-a"][first:]) == sorted(switch_commands)  # 4 at a time

    # every host owns what it collected; no device record is made
    assert snapshot.devices == ()
    scope = {entry.device: set(entry.facts) for entry in snapshot.scope}
    assert scope["gpu-a"] == {*KINDS, "gpu_health"}
    assert scope["gpu-b"] == {"gpus", "gpu_health", "gpu_affinity"}
    assert "ib_adapters" in scope["gpu-c"] and "gpus" in scope["gpu-c"]

    # the same captures saved as a host's files and ingested give the same facts
    for name, host in (("gpu-a", _hosts()[0]), ("gpu-b", _hosts()[1])):
        folder = tmp_path / "ingest" / name
        folder.mkdir(parents=True)
        for tool in fabric_hosts.FABRIC_TOOLS:
            if tool.command in host.outputs:
                (folder / tool.file).write_text(host.outputs[tool.command])
    ingested, report = parse_directory(tmp_path / "ingest")
    assert report.errors == []
    for kind in KINDS:
        got = {k: v for k, v in _by_owner(snapshot, kind).items() if k != "gpu-c"}
        assert got == _by_owner(ingested, kind), kind

    # and against the captures themselves
    nodes = {n.guid for n in snapshot.ib_nodes if n.device == "gpu-a"}
    printed = re.findall(r"^(?:switchguid|caguid)=0x([0-9a-f]+)", _capture("ibnetdiscover"), re.M)
    assert {f"0x{int(g, 16):016x}" for g in printed} <= nodes
    gpus_a = [g for g in snapshot.gpus if g.device == "gpu-a"]
    assert len(gpus_a) == 8  # dcgmi discovery lists 8 H800s; the A100 document is GPU 0 too
    (adapter,) = [x for x in snapshot.ib_adapters if x.device == "gpu-a"]
    assert (adapter.name, adapter.node_guid) == ("roceP1p1s0f1", "0xb8cef603002d1707")


def test_an_output_over_its_bound_is_not_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    small = tuple(
        fabric_hosts.FabricTool(t.command, t.file, 1024) if t.command == "ibstat" else t
        for t in fabric_hosts.HOST_TOOLS
    )
    monkeypatch.setattr(fabric_hosts, "HOST_TOOLS", small)
    big = "x" * 200_000 + "\n"
    host = FabricHost(
        "gpu-big",
        outputs={"ibstat": big, "nvidia-smi topo -m": _capture("nvidia-smi topo -m")},
    )
    with serve([host]) as lab:
        target = Target(
            "127.0.0.1", "linux", "gpu-big", lab.ports["gpu-big"], credentials=CREDS, fabric="host"
        )
        snapshot, results = _discover([target])
    result = results["gpu-big"]
    assert result.status is DeviceStatus.OK
    assert "ibstat" not in result.outputs
    assert result.detail.startswith("ibstat: output over 1024 bytes, not collected")
    assert snapshot is not None and snapshot.ib_adapters == () and len(snapshot.gpu_affinity) > 0


def test_a_host_with_none_of_the_tools_gives_no_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    with serve([FabricHost("bare")]) as lab:
        target = Target(
            "127.0.0.1", "linux", "bare", lab.ports["bare"], credentials=CREDS, fabric="sweep"
        )
        snapshot, results = _discover([target])
    assert snapshot is None
    bare = results["bare"]
    assert bare.status is DeviceStatus.PARSE_ERRORS
    assert bare.unavailable == [t.command for t in fabric_hosts.FABRIC_TOOLS]
    assert bare.detail.endswith("no output could be read")


def test_meshq_discover_saves_what_ingest_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    with serve(_hosts()[:2]) as lab:
        inventory = _inventory(tmp_path, lab.ports)
        saved = tmp_path / "saved"
        run = CliRunner().invoke(
            cli,
            ["discover", "--inventory", str(inventory), "--no-publish", "--save", str(saved)],
        )
    assert run.exit_code == 0, run.output
    assert "not installed: ibstat, perfquery -x, dcgmi discovery -l" in run.output
    assert sorted(p.name for p in (saved / "gpu-b").iterdir()) == [
        "nvidia-smi -q -x.xml",
        "nvidia-smi topo -m.txt",
    ]
    again, report = parse_directory(saved)
    assert report.errors == []
    assert {n.guid for n in again.ib_nodes} and len(
        [g for g in again.gpus if g.device == "gpu-b"]
    ) == 1


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("yes", "true, host or sweep"),
        ("sweep", None),
        (True, None),
        ({"role": "sweep", "sudo": True}, None),
        ({"sudo": "yes"}, "true or false"),
        ({"role": "sweep", "become": True}, "become"),
    ],
    ids=["bad", "sweep", "true", "mapping", "bad-sudo", "unknown-key"],
)
def test_the_inventory_marks_fabric_hosts(tmp_path: Path, value: object, error: str | None) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "credentials": {"lab": {"username": "u", "password_env": ENV}},
                "defaults": {"credentials": "lab"},
                "hosts": {"gpu-01": {"address": "10.0.0.1", "fabric": value}},
            }
        )
    )
    if error is not None:
        with pytest.raises(InventoryError, match=error):
            load_inventory(path)
        return
    (target,) = load_inventory(path).targets
    sweep = value == "sweep" or (isinstance(value, dict) and value.get("role") == "sweep")
    assert target.platform == "linux" and target.fabric == ("sweep" if sweep else "host")
    assert target.fabric_sudo is (isinstance(value, dict) and value.get("sudo") is True)
