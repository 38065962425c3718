"""InfiniBand outputs in a directory of CLI output: which files are read, the snapshot facts
and scope they give, and what happens to a file that cannot be read. Inputs are the published
real captures of tests/fixtures/real/infiniband (see its PROVENANCE.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from network_discovery.model import FactKind, IBNodeFact, ScopeEntry, Snapshot
from network_discovery.parsers import parse_directory
from network_discovery.parsers._fabric_files import fabric_tool
from network_discovery.parsers.infiniband import (
    parse_iblinkinfo,
    parse_ibnetdiscover,
    parse_ibqueryerrors,
    parse_ibstat,
)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "infiniband"


def _copy(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True)
    for target, source in files.items():
        shutil.copy(REAL / source, folder / target)


@pytest.mark.parametrize(
    ("name", "tool"),
    [
        ("ibnetdiscover.txt", "ibnetdiscover"),
        ("ibnetdiscover_-p.txt", "ibnetdiscover"),
        ("iblinkinfo --line.txt", "iblinkinfo"),
        ("perfquery-x_12_1.txt", "perfquery"),
        ("ibstatus.txt", "ibstatus"),
        ("ibstat", "ibstat"),
        ("IBQueryErrors.log", "ibqueryerrors"),
        ("ibstatistics.txt", None),
        ("show_version.txt", None),
        ("my-ibstat.txt", None),
    ],
)
def test_a_file_is_known_by_the_first_word_of_its_name(name: str, tool: str | None) -> None:
    assert fabric_tool(name) == tool


def test_a_collecting_host_owns_the_fabric_view(tmp_path: Path) -> None:
    _copy(
        tmp_path / "ib-sm01",
        **{
            "ibnetdiscover.txt": "ibnetdiscover_rdma_core_manpage.txt",
            "ibqueryerrors.txt": "ibqueryerrors_sx6036.txt",
        },
    )
    _copy(tmp_path / "gpu-07", **{"ibstat.txt": "ibstat_roce_cx6.txt"})
    snapshot, report = parse_directory(tmp_path)
    assert report.errors == []
    assert snapshot.devices == ()  # only InfiniBand outputs: no device record is made
    assert snapshot.scope_map() == {
        "ib-sm01": {
            FactKind.IB_NODES,
            FactKind.IB_PORTS,
            FactKind.IB_LINKS,
            FactKind.IB_COUNTERS,
        },
        "gpu-07": {FactKind.IB_ADAPTERS},
    }
    topology = parse_ibnetdiscover((REAL / "ibnetdiscover_rdma_core_manpage.txt").read_text())
    assert {n.guid for n in snapshot.ib_nodes} == {n.guid for n in topology.nodes}
    assert {link.ends for link in snapshot.ib_links} == {link.ends for link in topology.links}
    assert {p.id for p in snapshot.ib_ports} == {f"ib-sm01|{p.id}" for p in topology.ports}
    assert {f.device for f in (*snapshot.ib_nodes, *snapshot.ib_counters)} == {"ib-sm01"}
    errors = parse_ibqueryerrors((REAL / "ibqueryerrors_sx6036.txt").read_text())
    assert len(snapshot.ib_counters) == len({c.id for c in errors.counters})
    adapters = parse_ibstat((REAL / "ibstat_roce_cx6.txt").read_text(), host="gpu-07")
    assert [a.name for a in snapshot.ib_adapters] == [a.name for a in adapters.adapters]
    assert {a.host for a in snapshot.ib_adapters} == {"gpu-07"}
    assert ("%s" % (tmp_path / "gpu-07" / "ibstat.txt"), "ibstat", "text") in report.read


def test_views_of_one_port_are_merged(tmp_path: Path) -> None:
    """iblinkinfo's state, width and speed join ibnetdiscover's view of the same ports."""
    _copy(
        tmp_path / "ib-sm01",
        **{
            "ibnetdiscover.txt": "ibnetdiscover_rdma_core_manpage.txt",
            "iblinkinfo.txt": "iblinkinfo_sb7700_edr.txt",
        },
    )
    snapshot, report = parse_directory(tmp_path)
    assert report.errors == []
    links = parse_iblinkinfo((REAL / "iblinkinfo_sb7700_edr.txt").read_text())
    states = {f"ib-sm01|{p.id}": p.state for p in links.ports}
    merged = {p.id: p for p in snapshot.ib_ports}
    assert len(merged) == len(snapshot.ib_ports)  # one record per port
    assert states and all(merged[pid].state == state for pid, state in states.items())


def test_a_file_with_unread_lines_is_left_out_with_its_kinds(tmp_path: Path) -> None:
    folder = tmp_path / "ib-sm01"
    _copy(folder, **{"ibqueryerrors.txt": "ibqueryerrors_sx6036.txt"})
    text = (REAL / "ibnetdiscover_rdma_core_manpage.txt").read_text()
    (folder / "ibnetdiscover.txt").write_text(text + "\nSwitch this is not a node line\n")
    snapshot, report = parse_directory(tmp_path)
    assert any("ibnetdiscover.txt" in e.file and e.line for e in report.errors)
    assert snapshot.scope_map() == {"ib-sm01": {FactKind.IB_COUNTERS}}
    assert snapshot.ib_nodes == snapshot.ib_ports == snapshot.ib_links == ()


def test_a_fact_must_belong_to_its_scope() -> None:
    node = IBNodeFact(guid="0x1", node_type="switch", device="ib-sm01")
    with pytest.raises(ValueError, match="not declared in the scope"):
        Snapshot(
            snapshot_id="s",
            source="test",
            collected_at="2026-01-01T00:00:00Z",
            scope=(ScopeEntry(device="ib-sm01", facts=(FactKind.IB_PORTS,)),),
            ib_nodes=(node,),
        )
    ok = Snapshot(
        snapshot_id="s",
        source="test",
        collected_at="2026-01-01T00:00:00Z",
        scope=(ScopeEntry(device="ib-sm01", facts=(FactKind.IB_NODES,)),),
        ib_nodes=(node,),
    )
    assert ok.counts()["ib_nodes"] == 1
