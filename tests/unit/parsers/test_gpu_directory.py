"""GPU outputs in a directory of CLI output: which files are read, the host-owned facts and
verdicts they give, and what happens to a file that cannot be read. Inputs are the published
real captures of tests/fixtures/real/gpu (see its PROVENANCE.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from network_discovery.model import FactKind, GpuFact
from network_discovery.parsers import parse_directory
from network_discovery.parsers._gpu_files import gpu_tool
from network_discovery.parsers.gpu import (
    evaluate_health,
    parse_dcgm_exporter,
    parse_dcgmi_diag,
    parse_nvidia_smi_xml,
    parse_topo_matrix,
)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "gpu"
SCRAPE = REAL / "dcgm-exporter" / "xid-active-dcgm-exporter-239.prom"
DIAG = REAL / "dcgmi" / "diag-per-gpu-3x.json"
TOPO = REAL / "topo" / "h800-8gpu-4nic.txt"
SMI = REAL / "nvidia-smi" / "a100-sxm4-v12.xml"


@pytest.mark.parametrize(
    ("name", "tool"),
    [
        ("dcgm-exporter.txt", "dcgm-exporter"),
        ("metrics.prom", "dcgm-exporter"),
        ("dcgmi_diag_-r_2_-j.json", "dcgmi diag"),
        ("dcgmi discovery -l.txt", "dcgmi discovery"),
        ("nvidia-smi_topo_-m.txt", "nvidia-smi topo"),
        ("nvidia-smi -q -x.xml", "nvidia-smi -q -x"),
        ("nvidia_a100.xml", "nvidia-smi -q -x"),
        ("nvidia_notes.txt", None),
        ("show_version.txt", None),
    ],
)
def test_a_file_is_known_by_its_name(name: str, tool: str | None) -> None:
    assert gpu_tool(name) == tool


def _folder(root: Path, host: str, **files: Path) -> None:
    (root / host).mkdir(parents=True)
    for name, source in files.items():
        shutil.copy(source, root / host / name)


def test_a_hosts_gpus_verdicts_and_affinity(tmp_path: Path) -> None:
    _folder(
        tmp_path,
        "gpu-a",
        **{
            "dcgm-exporter.prom": SCRAPE,
            "dcgmi_diag_-r_2_-j.json": DIAG,
            "nvidia-smi topo -m.txt": TOPO,
        },
    )
    _folder(tmp_path, "gpu-b", **{"nvidia-smi_-q_-x.xml": SMI})
    snapshot, report = parse_directory(tmp_path)
    assert report.errors == []
    assert snapshot.devices == ()
    assert snapshot.scope_map() == {
        "gpu-a": {FactKind.GPUS, FactKind.GPU_HEALTH, FactKind.GPU_AFFINITY},
        "gpu-b": {FactKind.GPUS, FactKind.GPU_HEALTH},
    }
    # the scrape says Hostname="workstation": the GPUs are the folder host's
    scraped = parse_dcgm_exporter(SCRAPE.read_text(), host="gpu-a")
    assert {(g.host, g.index) for g in snapshot.gpus if g.host == "gpu-a"} == {
        (g.host, g.index) for g in scraped.gpus
    }
    diag = parse_dcgmi_diag(DIAG.read_text(), host="gpu-a").diag
    expected = {s.index: evaluate_health(s, diag=diag) for s in scraped.samples}
    got = {h.index: h for h in snapshot.gpu_health if h.host == "gpu-a"}
    assert {i: (h.verdict, h.reasons) for i, h in got.items()} == {
        i: (h.verdict, h.reasons) for i, h in expected.items()
    }
    smi = parse_nvidia_smi_xml(SMI.read_text(), host="gpu-b")
    [b] = [h for h in snapshot.gpu_health if h.host == "gpu-b"]
    assert b.verdict == evaluate_health(smi.samples[0]).verdict
    topo = parse_topo_matrix(TOPO.read_text(), host="gpu-a")
    assert {(a.gpu_index, a.hca, a.connection) for a in snapshot.gpu_affinity} == {
        (a.gpu_index, a.hca, a.connection) for a in topo.affinities
    }
    assert {f.device for f in (*snapshot.gpus, *snapshot.gpu_health)} == {"gpu-a", "gpu-b"}


def test_a_file_with_unread_lines_is_left_out(tmp_path: Path) -> None:
    _folder(tmp_path, "gpu-a", **{"nvidia-smi topo -m.txt": TOPO})
    (tmp_path / "gpu-a" / "dcgm-exporter.prom").write_text(
        SCRAPE.read_text() + "\nthis is { not a sample\n"
    )
    snapshot, report = parse_directory(tmp_path)
    assert any("dcgm-exporter.prom" in e.file for e in report.errors)
    assert snapshot.scope_map() == {"gpu-a": {FactKind.GPU_AFFINITY}}
    assert snapshot.gpus == snapshot.gpu_health == ()


def test_a_gpu_fact_belongs_to_its_host() -> None:
    assert GpuFact(host="gpu-a", index=0).device == "gpu-a"
    with pytest.raises(ValueError, match="belongs to its host"):
        GpuFact(host="gpu-a", index=0, device="gpu-b")
