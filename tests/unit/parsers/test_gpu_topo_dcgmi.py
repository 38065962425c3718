"""``nvidia-smi topo -m``, ``dcgmi discovery -l`` and ``dcgmi diag -j``."""

from pathlib import Path

from network_discovery.model.gpu import DiagStatus, HealthVerdict, TopoConnection
from network_discovery.parsers.gpu import (
    evaluate_health,
    parse_dcgm_exporter,
    parse_dcgmi_diag,
    parse_dcgmi_discovery,
    parse_topo_matrix,
)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "gpu"

# A DGX-style host with NIC columns named directly, written here in nvidia-smi's layout.
MLX_HEADER = """\
\tGPU0\tGPU1\tGPU2\tGPU3\tmlx5_0\tmlx5_1\tCPU Affinity\tNUMA Affinity
GPU0\t X \tNV12\tSYS\tSYS\tPIX\tSYS\t0-31\t0
GPU1\tNV12\t X \tSYS\tSYS\tPXB\tSYS\t0-31\t0
GPU2\tSYS\tSYS\t X \tNV4\tSYS\tPIX\t32-63\t1
GPU3\tSYS\tSYS\tNV4\t X \tSYS\tPHB\t32-63\t1
mlx5_0\tPIX\tPXB\tSYS\tSYS\t X \tSYS
mlx5_1\tSYS\tSYS\tPIX\tPHB\tSYS\t X

Legend:

  X    = Self
"""


def test_h800_matrix_with_nic_legend() -> None:
    facts = parse_topo_matrix((REAL / "topo" / "h800-8gpu-4nic.txt").read_text(), host="h800")
    assert facts.issues == []
    assert len(facts.peer_links) == 28  # every pair of 8 GPUs
    assert {(p.connection, p.nvlinks) for p in facts.peer_links} == {(TopoConnection.NVLINK, 8)}
    nearest = {(a.gpu_index, a.hca) for a in facts.affinities if a.connection is TopoConnection.PIX}
    assert nearest == {(1, "mlx5_0"), (3, "mlx5_1"), (7, "mlx5_2"), (7, "mlx5_3")}
    assert len(facts.affinities) == 32
    assert {a.hca for a in facts.affinities} == {"mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"}


def test_matrix_with_device_named_columns() -> None:
    facts = parse_topo_matrix(MLX_HEADER, host="dgx-01")
    assert facts.issues == []
    by_pair = {(a.gpu_index, a.hca): a.connection for a in facts.affinities}
    assert by_pair[(0, "mlx5_0")] is TopoConnection.PIX
    assert by_pair[(1, "mlx5_0")] is TopoConnection.PXB
    assert by_pair[(3, "mlx5_1")] is TopoConnection.PHB
    assert len(by_pair) == 8
    links = {(p.gpu_a, p.gpu_b): (p.connection, p.nvlinks) for p in facts.peer_links}
    assert links[(0, 1)] == (TopoConnection.NVLINK, 12)
    assert links[(2, 3)] == (TopoConnection.NVLINK, 4)
    assert links[(0, 2)] == (TopoConnection.SYS, None)


def test_unknown_cell_is_reported_and_makes_no_link() -> None:
    facts = parse_topo_matrix(MLX_HEADER.replace("PXB\tSYS\t0-31", "QQQ\tSYS\t0-31"), host="h")
    assert [i.line for i in facts.issues] == [3]
    assert (1, "mlx5_0") in {(a.gpu_index, a.hca) for a in facts.affinities}  # from its row


def test_nic_without_legend_is_reported() -> None:
    text = (REAL / "topo" / "h800-8gpu-4nic.txt").read_text().split("NIC Legend")[0]
    facts = parse_topo_matrix(text, host="h")
    assert facts.affinities == []
    assert any("NIC Legend" in i.message for i in facts.issues)


def test_no_header_is_reported() -> None:
    facts = parse_topo_matrix("nothing here\n", host="h")
    assert "no matrix header" in facts.issues[0].message


def test_discovery_lists_eight_h800() -> None:
    facts = parse_dcgmi_discovery((REAL / "dcgmi" / "discovery-h800.txt").read_text(), host="h800")
    assert facts.issues == []
    assert [g.index for g in facts.gpus] == list(range(8))
    assert facts.gpus[1].pci_bus_id == "0000:3e:00.0"
    assert facts.gpus[7].uuid == "GPU-474d838c-171f-d249-4f45-bbc01a8eb74a"
    assert {g.name for g in facts.gpus} == {"NVIDIA H800"}


def test_diag_results_per_gpu_and_their_failures() -> None:
    facts = parse_dcgmi_diag((REAL / "dcgmi" / "diag-per-gpu-3x.json").read_text(), host="n1")
    assert facts.issues == []
    failed = {(d.index, d.test) for d in facts.diag if d.status is DiagStatus.FAIL}
    assert failed == {(0, "sm_stress"), (2, "sm_stress"), (3, "sm_stress")}
    denylist = [d for d in facts.diag if d.test == "Denylist"]
    assert sorted(d.index for d in denylist if d.index is not None) == [0, 1, 2, 3]
    skipped = [d for d in facts.diag if d.status is DiagStatus.SKIP and d.index == 0]
    assert any("ECC memory on GPU 0" in w for d in skipped for w in d.warnings)


def test_diag_failure_fails_an_otherwise_healthy_gpu() -> None:
    diag = parse_dcgmi_diag(
        (REAL / "dcgmi" / "diag-per-gpu-3x.json").read_text(), host="i-030791dc5a37cd257"
    ).diag
    [sample] = parse_dcgm_exporter((REAL / "dcgm-exporter" / "l4-kops.prom").read_text()).samples
    health = evaluate_health(sample, diag=diag)
    assert health.verdict is HealthVerdict.FAILED
    assert [r.metric for r in health.reasons] == ["dcgmi diag: sm_stress"]
    assert "2128.7" in health.reasons[0].message


def test_diag_version_4_shape() -> None:
    text = """Successfully ran diagnostic for group.
{"DCGM Diagnostic": {"test_categories": [{"category": "Hardware", "tests": [
 {"name": "memory", "results": [
  {"entity_group": "GPU", "entity_group_id": 1, "entity_id": 0, "status": "Pass"},
  {"entity_group": "GPU", "entity_group_id": 1, "entity_id": 1, "status": "Fail",
   "warnings": [{"warning": "DBE", "error_id": 7, "error_category": 1, "error_severity": 2}]},
  {"entity_group": "NvSwitch", "entity_group_id": 3, "entity_id": 0, "status": "Pass"}]}]}],
 "version": "4.2.3"}}"""
    facts = parse_dcgmi_diag(text, host="n1")
    assert [(d.index, d.status) for d in facts.diag] == [(0, DiagStatus.PASS), (1, DiagStatus.FAIL)]
    assert facts.diag[1].error_ids == (7,)
    assert facts.diag[0].dcgm_version == "4.2.3"


def test_diag_not_json_is_reported() -> None:
    facts = parse_dcgmi_diag("Error: unable to connect", host="n1")
    assert facts.diag == []
    assert facts.issues


def test_rows_without_their_header_are_not_taken_for_one() -> None:
    rows = "\n".join(MLX_HEADER.splitlines()[1:])
    facts = parse_topo_matrix(rows, host="h")
    assert facts.affinities == [] and facts.peer_links == []
    assert "no matrix header" in facts.issues[0].message
