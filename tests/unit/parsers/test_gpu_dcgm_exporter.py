"""dcgm-exporter scrapes from public captures (tests/fixtures/real/gpu/PROVENANCE.md)."""

import re
from pathlib import Path

import pytest
from network_discovery.model.gpu import HealthVerdict
from network_discovery.parsers.gpu import (
    MAX_INPUT_CHARS,
    METRICS,
    XID_WINDOW_METRICS,
    evaluate_health,
    parse_dcgm_exporter,
)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "gpu" / "dcgm-exporter"


def test_l4_scrape_gives_identity_and_sample() -> None:
    facts = parse_dcgm_exporter((REAL / "l4-kops.prom").read_text())
    assert facts.issues == []
    [gpu] = facts.gpus
    assert gpu.host == "i-030791dc5a37cd257"
    assert gpu.index == 0
    assert gpu.uuid == "GPU-c2f76b33-7953-256e-8f33-1343419b1a1c"
    assert gpu.pci_bus_id == "0000:31:00.0"
    assert gpu.name == "NVIDIA L4"
    assert gpu.driver_version == "580.105.08"
    [sample] = facts.samples
    assert sample.temperature_c == 31
    assert sample.power_w == pytest.approx(16.365)
    assert sample.utilisation_pct == 0
    assert sample.row_remap_failure is False
    assert sample.remapped_rows_uncorrectable == 0
    assert sample.pcie_replay_errors == 0
    # clocks and profiling ratios are read but judge nothing
    assert "DCGM_FI_DEV_SM_CLOCK" in facts.unused_metrics
    assert "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE" in facts.unused_metrics
    health = evaluate_health(sample)
    assert health.verdict is HealthVerdict.OK
    assert "temperature_c" in health.checked
    assert "row_remap_failure" in health.checked


def test_l40s_scrape_reads_the_same_fields() -> None:
    facts = parse_dcgm_exporter((REAL / "l40s-upcloud.prom").read_text())
    assert facts.issues == []
    [gpu] = facts.gpus
    assert (gpu.host, gpu.name, gpu.pci_bus_id) == ("gpu1-wl8sg", "NVIDIA L40S", "0000:00:07.0")
    assert facts.samples[0].temperature_c is not None


def test_host_argument_wins_over_the_exporter_pod_name() -> None:
    text = (REAL / "l4-kops.prom").read_text()
    facts = parse_dcgm_exporter(text, host="gpu-node-07")
    assert {g.host for g in facts.gpus} == {"gpu-node-07"}


def test_four_gpus_without_decisive_metrics_are_unknown() -> None:
    facts = parse_dcgm_exporter((REAL / "v100-r6i3n0-dcgm-exporter-250.prom").read_text())
    assert facts.issues == []
    assert sorted(g.index for g in facts.gpus) == [0, 1, 2, 3]
    assert {g.host for g in facts.gpus} == {"r6i3n0"}
    limits = {s.index: s.power_limit_w for s in facts.samples}
    assert limits == {0: None, 1: None, 2: 300.0, 3: 300.0}
    for sample in facts.samples:
        # power limit, PCIe replays and utilisation say nothing of health: never "ok"
        assert evaluate_health(sample).verdict is HealthVerdict.UNKNOWN


def test_readme_sample_reports_the_ellipsis_lines_and_blank_value() -> None:
    facts = parse_dcgm_exporter((REAL / "readme-quickstart.prom").read_text(), host="node-a")
    assert [i.line for i in facts.issues] == [7, 11]
    assert all(i.severity == "error" for i in facts.issues)
    [sample] = facts.samples
    # 9223372036854775794 is DCGM's "not supported", not a temperature
    assert sample.memory_temperature_c is None
    assert evaluate_health(sample).verdict is HealthVerdict.UNKNOWN


def test_without_hostname_or_host_nothing_is_placed() -> None:
    facts = parse_dcgm_exporter((REAL / "readme-quickstart.prom").read_text())
    assert facts.gpus == []
    assert any("no Hostname label" in i.message for i in facts.issues)


def test_xid_labels_and_zero_value_mean_no_xid() -> None:
    facts = parse_dcgm_exporter((REAL / "xid-labels-dcgm-exporter-326.prom").read_text())
    [sample] = facts.samples
    assert sample.last_xid == 0
    assert evaluate_health(sample).verdict is HealthVerdict.OK


def test_active_xid_window_outside_the_table_is_unknown() -> None:
    facts = parse_dcgm_exporter((REAL / "xid-active-dcgm-exporter-239.prom").read_text())
    [sample] = facts.samples
    assert sample.active_xids == (42,)
    health = evaluate_health(sample)
    assert health.verdict is HealthVerdict.UNKNOWN
    [reason] = [r for r in health.reasons if r.metric == "xid"]
    assert reason.xid == 42
    assert reason.xid_meaning is None


def test_xid_79_on_a_real_line_fails_the_gpu() -> None:
    line = (REAL / "xid-labels-dcgm-exporter-326.prom").read_text().splitlines()[2]
    facts = parse_dcgm_exporter(line.replace("} 0", "} 79"))
    health = evaluate_health(facts.samples[0])
    assert health.verdict is HealthVerdict.FAILED
    assert [r.xid for r in health.reasons] == [79]
    assert "fallen off the bus" in (health.reasons[0].xid_meaning or "")


def test_conflicting_repeats_keep_the_first_value_and_warn() -> None:
    text = (
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="h",GPU_I_ID="1"} 40\n'
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="h",GPU_I_ID="2"} 41\n'
    )
    facts = parse_dcgm_exporter(text)
    assert facts.samples[0].temperature_c == 40
    assert [i.severity for i in facts.issues] == ["warning"]


def test_bad_gpu_label_is_reported_not_guessed() -> None:
    facts = parse_dcgm_exporter('DCGM_FI_DEV_GPU_TEMP{gpu="x",Hostname="h"} 40\n')
    assert facts.samples == []
    assert facts.issues[0].line == 1


def test_input_is_bounded() -> None:
    with pytest.raises(ValueError, match="more than"):
        parse_dcgm_exporter("#" * (MAX_INPUT_CHARS + 1))


def _published(name: str) -> tuple[set[str], set[str]]:
    """(every field the metric set names, the fields it turns on) of one of dcgm-exporter's
    published metric sets."""
    text = (REAL / "metric-sets" / name).read_text()
    named = set(re.findall(r"^\s*#?\s*(DCGM_\w+)\s*,", text, re.MULTILINE))
    active = set(re.findall(r"^\s*(DCGM_\w+)\s*,", text, re.MULTILINE))
    return named, active


@pytest.mark.parametrize("name", ["default-counters.csv", "dcp-metrics-included.csv"])
def test_every_published_health_field_is_read(name: str) -> None:
    named, _ = _published(name)
    health = {
        n
        for n in named
        if re.search(
            r"TEMP|POWER_USAGE|GPU_UTIL|XID|ECC_[SD]BE|RETIRED|REMAP|NVLINK_.*ERROR|"
            r"PCIE_REPLAY",
            n,
        )
    }
    assert health, "the metric set names no health field"
    assert health <= set(METRICS) | set(XID_WINDOW_METRICS)


def test_default_set_leaves_ecc_and_nvlink_errors_off() -> None:
    """What docs/gpu-and-nccl.md tells users to turn on: off in the default metric set."""
    named, active = _published("default-counters.csv")
    off = {"DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL"}
    assert off <= named
    assert not off & active
    assert "DCGM_FI_DEV_ROW_REMAP_FAILURE" in active


def test_counter_above_two_to_the_31_is_a_count_not_a_blank() -> None:
    facts = parse_dcgm_exporter(
        'DCGM_FI_DEV_PCIE_REPLAY_COUNTER{gpu="0",Hostname="h"} 2147483650\n'
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="h"} 2147483632\n'
    )
    [sample] = facts.samples
    assert sample.pcie_replay_errors == 2147483650
    assert sample.temperature_c is None


def test_out_of_bounds_reading_is_left_out_and_the_rest_kept() -> None:
    facts = parse_dcgm_exporter(
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="h"} 300\n'
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="h"} 45\n'
    )
    [sample] = facts.samples
    assert (sample.utilisation_pct, sample.temperature_c) == (None, 45)
    [issue] = facts.issues
    assert "utilisation_pct" in issue.message
