"""dcgm-exporter's Prometheus text exposition: GPU identities and health samples.

Each sample line goes through ``prometheus_client``'s parser on its own, so that a line it
refuses is reported with its number and the rest are still read. DCGM's "blank" values
(not supported, not found, no permission) become ``None``, never a number.
"""

from __future__ import annotations

import math
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from network_discovery.model.gpu import Gpu, normalise_pci_bus_id
from network_discovery.parsers.gpu._common import GpuFacts, add_sample, check_size

__all__ = ["METRICS", "XID_WINDOW_METRICS", "parse_dcgm_exporter"]

#: DCGM field → GpuSample field, and whether the field is a gauge (gauges carry 32-bit and
#: floating-point blanks too; counters only the 64-bit ones).
METRICS: dict[str, tuple[str, bool]] = {
    "DCGM_FI_DEV_GPU_TEMP": ("temperature_c", True),
    "DCGM_FI_DEV_MEMORY_TEMP": ("memory_temperature_c", True),
    "DCGM_FI_DEV_POWER_USAGE": ("power_w", True),
    "DCGM_FI_DEV_POWER_MGMT_LIMIT": ("power_limit_w", True),
    "DCGM_FI_DEV_ENFORCED_POWER_LIMIT": ("power_limit_w", True),
    "DCGM_FI_DEV_GPU_UTIL": ("utilisation_pct", True),
    "DCGM_FI_DEV_XID_ERRORS": ("last_xid", True),
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": ("ecc_sbe_volatile", False),
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": ("ecc_dbe_volatile", False),
    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL": ("ecc_sbe_aggregate", False),
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL": ("ecc_dbe_aggregate", False),
    "DCGM_FI_DEV_RETIRED_SBE": ("retired_pages_sbe", False),
    "DCGM_FI_DEV_RETIRED_DBE": ("retired_pages_dbe", False),
    "DCGM_FI_DEV_RETIRED_PENDING": ("retired_pages_pending", True),
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS": ("remapped_rows_correctable", False),
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": ("remapped_rows_uncorrectable", False),
    "DCGM_FI_DEV_ROW_REMAP_PENDING": ("row_remap_pending", True),
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": ("row_remap_failure", True),
    "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL": ("nvlink_crc_flit_errors", False),
    "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL": ("nvlink_crc_data_errors", False),
    "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL": ("nvlink_replay_errors", False),
    "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL": ("nvlink_recovery_errors", False),
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": ("pcie_replay_errors", False),
    "DCGM_FI_DEV_FB_USED": ("memory_used_mib", True),
}
#: Families whose samples carry an ``xid`` label: XIDs active inside the exporter's window.
XID_WINDOW_METRICS = ("DCGM_EXP_XID_ERRORS_COUNT", "DCGM_FI_DEV_XID_ERRORS_ACTIVE")
_BOOLEAN = {"retired_pages_pending", "row_remap_pending", "row_remap_failure"}
_INTEGER = {
    "last_xid",
    "ecc_sbe_volatile",
    "ecc_dbe_volatile",
    "ecc_sbe_aggregate",
    "ecc_dbe_aggregate",
    "retired_pages_sbe",
    "retired_pages_dbe",
    "remapped_rows_correctable",
    "remapped_rows_uncorrectable",
    "nvlink_crc_flit_errors",
    "nvlink_crc_data_errors",
    "nvlink_replay_errors",
    "nvlink_recovery_errors",
    "pcie_replay_errors",
}
#: DCGM's blank values (dcgm_structs.h): DCGM_INT64_BLANK, DCGM_INT32_BLANK and the values
#: above them (not found, not supported, no permission); DCGM_FP64_BLANK (2**47) and above.
_INT64_BLANK = 0x7FFFFFFFFFFFFFF0
_INT32_BLANK = 0x7FFFFFF0


def _blank(value: float, gauge: bool) -> bool:
    """Gauges are 32-bit, 64-bit or floating-point fields: any blank applies. Counters are
    64-bit: only the 64-bit blanks (an energy or byte counter passes 2**31 honestly)."""
    if math.isnan(value) or math.isinf(value):
        return True
    return value >= (_INT32_BLANK if gauge else _INT64_BLANK)


class _Gpu:
    """What one GPU's samples said so far."""

    def __init__(self, host: str, index: int) -> None:
        self.host, self.index = host, index
        self.labels: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.xids: set[int] = set()


def _sample_line(line: str) -> list[Any]:
    return [s for f in text_string_to_metric_families(line + "\n") for s in f.samples]


def parse_dcgm_exporter(
    text: str, *, host: str | None = None, source: str = "dcgm-exporter"
) -> GpuFacts:
    """GPUs and one health sample per GPU from a dcgm-exporter scrape.

    ``host`` names the host when the scrape's ``Hostname`` label is missing or is not the
    host (an exporter pod's name); it wins over the label when given.
    """
    check_size(text, source)
    facts = GpuFacts(source=source)
    gpus: dict[tuple[str, int], _Gpu] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            samples = _sample_line(line)
        except (ValueError, IndexError, TypeError) as exc:
            facts.issue(f"not a Prometheus sample line ({exc})", line=number)
            continue
        for sample in samples:
            _take(facts, gpus, sample, host, number)
    for gpu in gpus.values():
        _emit(facts, gpu)
    return facts


def _take(
    facts: GpuFacts, gpus: dict[tuple[str, int], _Gpu], sample: Any, host: str | None, line: int
) -> None:
    name: str = sample.name
    labels: dict[str, str] = sample.labels
    mapped = METRICS.get(name)
    where = host or labels.get("Hostname")
    index_text = labels.get("gpu", "")
    if not where:
        facts.issue(f"{name}: no Hostname label and no host given", line=line)
        return
    if not index_text.isdigit() or int(index_text) > 1023:
        facts.issue(f"{name}: gpu label {index_text!r} is not a GPU index", line=line)
        return
    key = (where, int(index_text))
    gpu = gpus.setdefault(key, _Gpu(*key))
    for label in ("UUID", "pci_bus_id", "modelName", "DCGM_FI_DRIVER_VERSION"):
        if labels.get(label):
            gpu.labels.setdefault(label, labels[label])
    if mapped is None and name not in XID_WINDOW_METRICS:
        facts.unused_metrics.add(name)
        return
    value = float(sample.value)
    if name in XID_WINDOW_METRICS:
        xid = labels.get("xid", "")
        if xid.isdigit() and value > 0 and not _blank(value, True):
            gpu.xids.add(int(xid))
        elif not xid.isdigit():
            facts.issue(f"{name}: xid label {xid!r} is not an XID number", line=line)
        return
    assert mapped is not None
    field, gauge = mapped
    if _blank(value, gauge):
        gpu.values.setdefault(field, None)
        return
    if field in gpu.values and gpu.values[field] is not None and gpu.values[field] != value:
        facts.issue(
            f"{name}: GPU {index_text} on {where} reported {value} after {gpu.values[field]}; "
            "the first value is kept",
            line=line,
            severity="warning",
        )
        return
    gpu.values[field] = value


def _emit(facts: GpuFacts, gpu: _Gpu) -> None:
    bus = gpu.labels.get("pci_bus_id")
    uuid = gpu.labels.get("UUID") or None
    try:
        facts.gpus.append(
            Gpu(
                host=gpu.host,
                index=gpu.index,
                uuid=uuid,
                pci_bus_id=normalise_pci_bus_id(bus) if bus else None,
                name=gpu.labels.get("modelName"),
                driver_version=gpu.labels.get("DCGM_FI_DRIVER_VERSION"),
            )
        )
    except (ValidationError, ValueError) as exc:
        facts.issue(f"GPU {gpu.index} on {gpu.host}: {_first_error(exc)}")
        uuid = None
    values: dict[str, Any] = {}
    for field, value in gpu.values.items():
        if value is None:
            continue
        if field in _BOOLEAN:
            values[field] = value != 0
        elif field in _INTEGER:
            values[field] = int(value)
        else:
            values[field] = value
    add_sample(
        facts,
        {
            "host": gpu.host,
            "index": gpu.index,
            "uuid": uuid,
            "source": "dcgm-exporter",
            "active_xids": tuple(sorted(gpu.xids)),
        },
        values,
    )


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        return f"{where}: {error['msg']}"
    return str(exc)
