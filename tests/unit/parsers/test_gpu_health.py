"""Health verdicts: each threshold of the table, overrides, and what stays unknown."""

from pathlib import Path

import pytest
from network_discovery.model.gpu import GpuSample, HealthVerdict, ReasonSeverity
from network_discovery.parsers.gpu import (
    DEFAULT_THRESHOLDS,
    XID_TABLE,
    HealthThresholds,
    evaluate_health,
    parse_nvidia_smi_xml,
)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "gpu" / "nvidia-smi"


@pytest.fixture(scope="module")
def a100() -> GpuSample:
    """The real A100 sample: 27 °C, 67 W of 500 W, no ECC errors, slowdown at 89 °C."""
    text = (REAL / "a100-sxm4-v12.xml").read_text()
    return parse_nvidia_smi_xml(text, host="gpu-node-01").samples[0]


def _with(sample: GpuSample, **changes: object) -> GpuSample:
    return GpuSample.model_validate({**sample.model_dump(), **changes})


def test_real_sample_is_ok(a100: GpuSample) -> None:
    health = evaluate_health(a100)
    assert health.verdict is HealthVerdict.OK
    assert health.reasons == ()
    assert health.gpu_id == "gpu:gpu-node-01:0"


@pytest.mark.parametrize(
    ("changes", "verdict", "metric"),
    [
        ({"temperature_c": 90.0}, HealthVerdict.DEGRADED, "temperature_c"),
        ({"temperature_c": 92.0}, HealthVerdict.FAILED, "temperature_c"),
        ({"memory_temperature_c": 96.0}, HealthVerdict.DEGRADED, "memory_temperature_c"),
        ({"power_w": 500.0}, HealthVerdict.DEGRADED, "power_w"),
        ({"ecc_dbe_volatile": 1}, HealthVerdict.FAILED, "ecc_dbe_volatile"),
        ({"row_remap_failure": True}, HealthVerdict.FAILED, "row_remap_failure"),
        ({"row_remap_pending": True}, HealthVerdict.DEGRADED, "row_remap_pending"),
        ({"retired_pages_pending": True}, HealthVerdict.DEGRADED, "retired_pages_pending"),
        ({"remapped_rows_uncorrectable": 2}, HealthVerdict.DEGRADED, "remapped_rows_uncorrectable"),
        ({"last_xid": 48}, HealthVerdict.FAILED, "xid"),
        ({"last_xid": 13}, HealthVerdict.DEGRADED, "xid"),
        ({"active_xids": (94, 95)}, HealthVerdict.FAILED, "xid"),
    ],
    ids=[
        "slowdown",
        "shutdown",
        "memory-temp",
        "power-capped",
        "dbe",
        "remap-failure",
        "remap-pending",
        "retire-pending",
        "remapped-unc",
        "xid48",
        "xid13",
        "xid94-95",
    ],
)
def test_each_threshold(
    a100: GpuSample, changes: dict[str, object], verdict: HealthVerdict, metric: str
) -> None:
    health = evaluate_health(_with(a100, **changes))
    assert health.verdict is verdict
    assert metric in {r.metric for r in health.reasons}


def test_reasons_name_value_threshold_and_xid_meaning(a100: GpuSample) -> None:
    health = evaluate_health(_with(a100, temperature_c=90.0, last_xid=79))
    by_metric = {r.metric: r for r in health.reasons}
    assert (by_metric["temperature_c"].observed, by_metric["temperature_c"].threshold) == (90, 89)
    assert by_metric["xid"].xid == 79
    assert by_metric["xid"].xid_meaning == XID_TABLE[79][0]
    assert health.verdict is HealthVerdict.FAILED


def test_absolute_temperature_defaults_apply_without_the_gpus_own(a100: GpuSample) -> None:
    bare = _with(a100, slowdown_temperature_c=None, shutdown_temperature_c=None)
    assert evaluate_health(_with(bare, temperature_c=86.0)).verdict is HealthVerdict.DEGRADED
    assert evaluate_health(_with(bare, temperature_c=95.0)).verdict is HealthVerdict.FAILED


def test_thresholds_are_overridable(a100: GpuSample) -> None:
    sample = _with(a100, ecc_sbe_volatile=500, pcie_replay_errors=10)
    assert evaluate_health(sample).verdict is HealthVerdict.OK  # both checks off by default
    strict = HealthThresholds(ecc_sbe_degraded=100, pcie_replay_degraded=5)
    health = evaluate_health(sample, thresholds=strict)
    assert health.verdict is HealthVerdict.DEGRADED
    assert {r.metric for r in health.reasons} == {"ecc_sbe_volatile", "pcie_replay_errors"}
    lenient = HealthThresholds(power_limit_ratio_degraded=None)
    assert evaluate_health(_with(a100, power_w=500.0), thresholds=lenient).verdict is (
        HealthVerdict.OK
    )


def test_xid_table_is_overridable(a100: GpuSample) -> None:
    sample = _with(a100, last_xid=13)
    table = {**DEFAULT_THRESHOLDS.xids, 13: ("Graphics engine exception", "failed")}
    health = evaluate_health(sample, thresholds=HealthThresholds(xids=table))
    assert health.verdict is HealthVerdict.FAILED


def test_documented_xids_are_in_the_table() -> None:
    for xid in (13, 31, 43, 45, 48, 61, 62, 63, 64, 74, 79, 92, 94, 95):
        assert xid in XID_TABLE


def test_nvlink_counters_read_once_only_inform(a100: GpuSample) -> None:
    health = evaluate_health(_with(a100, nvlink_crc_flit_errors=12))
    assert health.verdict is HealthVerdict.OK
    [reason] = health.reasons
    assert reason.severity is ReasonSeverity.INFO


def test_nvlink_errors_increasing_degrade(a100: GpuSample) -> None:
    before = _with(a100, nvlink_crc_flit_errors=12, nvlink_replay_errors=3)
    after = _with(a100, nvlink_crc_flit_errors=12, nvlink_replay_errors=9)
    health = evaluate_health(after, previous=before)
    assert health.verdict is HealthVerdict.DEGRADED
    [reason] = health.reasons
    assert (reason.metric, reason.observed) == ("nvlink_replay_errors", 6)
    assert evaluate_health(before, previous=before).verdict is HealthVerdict.OK


def test_nothing_decisive_is_unknown_not_ok() -> None:
    sample = GpuSample(host="h", index=3, source="dcgm-exporter", utilisation_pct=50)
    health = evaluate_health(sample)
    assert health.verdict is HealthVerdict.UNKNOWN
    assert health.reasons[0].severity is ReasonSeverity.UNKNOWN
    assert health.checked == ()
