"""``nvidia-smi -q -x`` captures of four driver generations (telegraf's test data)."""

from pathlib import Path

import pytest
from network_discovery.model.gpu import HealthVerdict, normalise_pci_bus_id
from network_discovery.parsers.gpu import GpuFacts, evaluate_health, parse_nvidia_smi_xml

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "gpu" / "nvidia-smi"


def _parse(name: str) -> GpuFacts:
    return parse_nvidia_smi_xml((REAL / name).read_text(), host="gpu-node-01", source=name)


def test_a100_identity_and_schema_v12_fields() -> None:
    facts = _parse("a100-sxm4-v12.xml")
    assert facts.issues == []
    [gpu] = facts.gpus
    assert gpu.uuid == "GPU-513536b6-7d19-9063-b049-1e69664bb298"
    assert gpu.pci_bus_id == "0000:01:00.0"
    assert gpu.serial == "1650522003820"
    assert (gpu.driver_version, gpu.cuda_version) == ("535.54.03", "12.2")
    [sample] = facts.samples
    assert sample.temperature_c == 27
    assert sample.memory_temperature_c == 44
    assert (sample.slowdown_temperature_c, sample.shutdown_temperature_c) == (89, 92)
    assert (sample.power_w, sample.power_limit_w) == (67.03, 500.0)
    assert sample.utilisation_pct is None  # N/A under MIG
    assert (sample.ecc_dbe_volatile, sample.ecc_sbe_volatile) == (0, 0)
    assert sample.row_remap_failure is None  # remapped_rows is N/A
    assert evaluate_health(sample).verdict is HealthVerdict.OK


def test_t4_reads_retired_pages_and_older_power_element() -> None:
    [sample] = _parse("tesla-t4.xml").samples
    assert (sample.power_w, sample.power_limit_w) == (26.78, 70.0)
    assert sample.retired_pages_pending is False
    assert sample.retired_pages_dbe == 0
    assert (sample.slowdown_temperature_c, sample.shutdown_temperature_c) == (93, 96)


def test_v13_reads_instant_power_and_remapped_rows() -> None:
    [sample] = _parse("rtx-4000-sff-ada-v13.xml").samples
    assert sample.power_w == 8.44
    assert sample.row_remap_failure is False
    assert sample.row_remap_pending is False
    assert sample.remapped_rows_uncorrectable == 0
    assert sample.ecc_dbe_volatile is None  # every ECC counter is N/A on this board


def test_oldest_format_keeps_unknowns_unknown() -> None:
    facts = _parse("gtx-1070-ti.xml")
    [sample] = facts.samples
    assert sample.power_w is None
    assert sample.temperature_c == 39
    assert facts.gpus[0].driver_version is None


def test_slowdown_threshold_of_the_gpu_decides_temperature() -> None:
    text = (REAL / "tesla-t4.xml").read_text().replace("<gpu_temp>40 C<", "<gpu_temp>94 C<")
    [sample] = parse_nvidia_smi_xml(text, host="h").samples
    health = evaluate_health(sample)
    assert health.verdict is HealthVerdict.DEGRADED
    [reason] = health.reasons
    assert (reason.metric, reason.observed, reason.threshold) == ("temperature_c", 94, 93)


def test_entities_are_refused() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE nvidia_smi_log [<!ENTITY a "aaaa">]>'
        "<nvidia_smi_log><driver_version>&a;</driver_version></nvidia_smi_log>"
    )
    facts = parse_nvidia_smi_xml(bomb, host="h")
    assert facts.gpus == []
    assert "not readable XML" in facts.issues[0].message


def test_other_xml_is_reported() -> None:
    facts = parse_nvidia_smi_xml("<rpc-reply/>", host="h")
    assert "not <nvidia_smi_log>" in facts.issues[0].message


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("00000000:4F:00.0", "0000:4f:00.0"),
        ("0000:4f:00.0", "0000:4f:00.0"),
        ("4f:00.0", "0000:4f:00.0"),
        ("00000001:03:1F.7", "0001:03:1f.7"),
    ],
)
def test_pci_bus_ids_meet_in_one_spelling(given: str, expected: str) -> None:
    assert normalise_pci_bus_id(given) == expected


@pytest.mark.parametrize("given", ["4f000", "0000:4f:00", "zz:00.0", "100000000:00:00.0"])
def test_bad_pci_bus_ids_are_refused(given: str) -> None:
    with pytest.raises(ValueError, match="PCI bus id"):
        normalise_pci_bus_id(given)
