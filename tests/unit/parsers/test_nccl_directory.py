"""An NCCL job's folder (``job.yaml`` and the ranks' logs, nccl-tests output beside them) in
a directory of CLI output: the job-owned facts it gives, the connections with the HCA port
at each end, and what happens to a folder that cannot be read. Logs are generated for a
chosen layout (tests/support/nccl_job.py) or real (tests/fixtures/real/nccl, see its
PROVENANCE.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from network_discovery.model import FactKind, NcclRankFact, ScopeEntry, Snapshot
from network_discovery.parsers import parse_directory
from support.nccl_job import write_job_log

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "nccl"
TABLE = REAL / "nccl-tests" / "nccl-340-all-reduce-2.6.txt"
ALL_KINDS = {
    FactKind.NCCL_JOBS,
    FactKind.NCCL_RANKS,
    FactKind.NCCL_CONNECTIONS,
    FactKind.NCCL_RESULTS,
}


def _job(root: Path, meta: str, **files: str) -> Path:
    folder = root / "job"
    folder.mkdir(parents=True)
    (folder / "job.yaml").write_text(meta)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("style", ["2.2x", "2.1x"])
def test_a_job_folder_gives_its_ranks_and_connections(tmp_path: Path, style: str) -> None:
    layout = write_job_log(hosts=4, gpus=8, style=style)
    half = len(layout.text) // 2
    cut = layout.text.index("\n", half) + 1  # two files, as two ranks' launchers wrote them
    _job(
        tmp_path,
        "job_id: Train-42\nname: llm\nstarted_at: 2026-12-01T10:00:00Z\n",
        **{"part1.log": layout.text[:cut], "part2.log": layout.text[cut:]},
    )
    snapshot, report = parse_directory(tmp_path)
    assert [i for i in report.issues if i.severity == "error"] == []
    assert snapshot.scope_map()["nccl-job:train-42"] == ALL_KINDS
    (job,) = snapshot.nccl_jobs
    assert (job.job_id, job.name, job.nranks, job.ring_channels) == ("Train-42", "llm", 32, 2)
    assert job.nccl_version == layout.version and job.started_at is not None
    assert job.hosts == tuple(sorted({r.host for r in layout.ranks.values()}))
    ranks = {r.rank: r for r in snapshot.nccl_ranks}
    assert set(ranks) == set(layout.ranks)
    for number, want in layout.ranks.items():
        got = ranks[number]
        assert (got.host, got.cuda_dev, got.bus_id) == (want.host, want.cuda_dev, want.bus_id)
        assert set(got.hca_ports) == want.hcas
    net = [c for c in snapshot.nccl_connections if c.transport == "net"]
    assert len(net) == layout.net_edges // 2  # a send and a receive line per connection
    for c in net:  # each end's own HCA, from its own process's NET/IB list
        assert c.src_hca == f"mlx5_{c.src_rank % 8}:1" and c.dst_hca == f"mlx5_{c.dst_rank % 8}:1"
        assert c.src_host == layout.ranks[c.src_rank].host
        assert c.dst_host == layout.ranks[c.dst_rank].host
    local = [c for c in snapshot.nccl_connections if c.transport == "p2p"]
    assert len(local) == layout.p2p_edges
    assert all(c.in_ring for c in snapshot.nccl_connections)  # every one is a ring hop here
    assert snapshot.nccl_results == ()


def test_nccl_tests_output_gives_results(tmp_path: Path) -> None:
    layout = write_job_log(hosts=2, gpus=8)
    _job(tmp_path, "job_id: 1234\n", **{"rank.log": layout.text, "perf.txt": TABLE.read_text()})
    snapshot, report = parse_directory(tmp_path / "job")  # the job's own folder
    assert [i for i in report.issues if i.severity == "error"] == []
    assert snapshot.scope_map() == {"nccl-job:1234": ALL_KINDS}
    sizes = {(r.size_bytes, r.placement, r.busbw_gbps) for r in snapshot.nccl_results}
    assert (134217728, "out-of-place", 20.34) in sizes  # the table's last all-reduce row
    assert all(r.job_id == "1234" for r in snapshot.nccl_results)


def test_real_logs_are_read_as_a_job(tmp_path: Path) -> None:
    folder = _job(tmp_path, "job_id: real\n")
    for log in sorted((REAL / "logs").glob("nccl-tests-29*.log")):
        shutil.copy(log, folder / log.name)
    snapshot, report = parse_directory(tmp_path)
    assert [i for i in report.issues if i.severity == "error"] == []
    assert len(snapshot.nccl_ranks) == 12 and snapshot.nccl_jobs[0].nranks == 32


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("name: no id\n", "job_id is required"),
        ("job_id: team/run 1\n", "letters, digits"),
        ("job_id: j1\nstarted_at: 2026-12-01 10:00:00\n", "needs a time zone"),
        ("job_id: [j1\n", "not readable YAML"),
    ],
    ids=["missing-id", "bad-id", "naive-time", "bad-yaml"],
)
def test_a_bad_job_file_leaves_the_job_out(tmp_path: Path, meta: str, message: str) -> None:
    _job(tmp_path, meta, **{"rank.log": write_job_log(hosts=1, gpus=2).text})
    snapshot, report = parse_directory(tmp_path)
    assert snapshot.nccl_jobs == () and snapshot.scope == ()
    assert any(message in i.message and i.severity == "error" for i in report.issues)


def test_a_folder_with_no_nccl_lines_is_reported(tmp_path: Path) -> None:
    _job(tmp_path, "job_id: j1\n", **{"notes.txt": "training started\nloss 1.2\n"})
    snapshot, report = parse_directory(tmp_path)
    assert snapshot.nccl_jobs == ()
    assert any("no NCCL log lines" in i.message for i in report.issues)


def test_a_job_fact_belongs_to_its_job() -> None:
    rank = NcclRankFact(job_id="J1", comm="n2", rank=0, nranks=2)
    assert rank.device == "nccl-job:j1"
    with pytest.raises(ValueError, match="belongs to its job"):
        NcclRankFact(job_id="j1", comm="n2", rank=0, nranks=2, device="gpu-01")
    with pytest.raises(ValueError, match="not in the snapshot's scope"):
        Snapshot(
            snapshot_id="s",
            source="test",
            collected_at="2026-12-01T00:00:00Z",
            scope=(ScopeEntry(device="nccl-job:j2", facts=(FactKind.NCCL_RANKS,)),),
            nccl_ranks=(rank,),
        )
