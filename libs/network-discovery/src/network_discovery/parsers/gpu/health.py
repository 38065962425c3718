"""Health verdicts for GPUs: a sample (and optionally the one before it and ``dcgmi diag``
results) against a table of thresholds, with every reason named.

The thresholds are :class:`HealthThresholds`; build one with other values to override any
(``HealthThresholds(temperature_degraded_c=80)``), XIDs included. docs/gpu-and-nccl.md lists
them. A GPU of which nothing decisive was read is ``unknown``, never ``ok``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from network_discovery.model.gpu import (
    DiagResult,
    DiagStatus,
    GpuHealth,
    GpuSample,
    HealthReason,
    HealthVerdict,
    ReasonSeverity,
)
from network_discovery.parsers.gpu._xid import XID_TABLE, XidSeverity

__all__ = ["DEFAULT_THRESHOLDS", "XID_TABLE", "HealthThresholds", "evaluate_health"]

_NVLINK = (
    "nvlink_crc_flit_errors",
    "nvlink_crc_data_errors",
    "nvlink_replay_errors",
    "nvlink_recovery_errors",
)
#: Fields whose presence makes a verdict possible; without any, the verdict is unknown.
_DECISIVE = (
    "temperature_c",
    "power_w",
    "last_xid",
    "ecc_dbe_volatile",
    "row_remap_failure",
    "remapped_rows_uncorrectable",
    "retired_pages_pending",
)

#: Every field a verdict looks at, for :attr:`GpuHealth.checked`.
_CHECKED = (
    *_DECISIVE,
    "memory_temperature_c",
    "power_limit_w",
    "ecc_sbe_volatile",
    "row_remap_pending",
    "pcie_replay_errors",
    *_NVLINK,
)


class HealthThresholds(BaseModel):
    """Thresholds of the verdict; ``None`` turns a check off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature_degraded_c: float | None = Field(
        default=85.0, description="Used when the GPU's own slowdown threshold was not read."
    )
    temperature_failed_c: float | None = Field(
        default=95.0, description="Used when the GPU's own shutdown threshold was not read."
    )
    memory_temperature_degraded_c: float | None = 95.0
    power_limit_ratio_degraded: float | None = Field(
        default=1.0, description="Power draw at this fraction of the enforced limit: capped."
    )
    ecc_dbe_failed: int | None = Field(default=1, description="Volatile double-bit errors.")
    ecc_sbe_degraded: int | None = Field(
        default=None, description="Volatile single-bit errors (corrected; off by default)."
    )
    remapped_rows_uncorrectable_degraded: int | None = 1
    pcie_replay_degraded: int | None = Field(
        default=None, description="PCIe replays since boot (off by default)."
    )
    nvlink_increase_degraded: int | None = Field(
        default=1, description="NVLink CRC/replay/recovery errors added since the last sample."
    )
    xids: Mapping[int, tuple[str, XidSeverity]] = Field(default_factory=lambda: dict(XID_TABLE))


DEFAULT_THRESHOLDS = HealthThresholds()


def _reason(
    severity: ReasonSeverity,
    metric: str,
    message: str,
    observed: float | str | None = None,
    threshold: float | None = None,
    xid: int | None = None,
    meaning: str | None = None,
) -> HealthReason:
    return HealthReason(
        severity=severity,
        metric=metric,
        observed=observed,
        threshold=threshold,
        xid=xid,
        xid_meaning=meaning,
        message=message,
    )


def evaluate_health(
    sample: GpuSample,
    *,
    previous: GpuSample | None = None,
    diag: Iterable[DiagResult] = (),
    thresholds: HealthThresholds = DEFAULT_THRESHOLDS,
) -> GpuHealth:
    """The verdict on the GPU of ``sample``; ``previous`` (an earlier sample of the same
    GPU) lets counters be judged by their increase; ``diag`` adds ``dcgmi diag`` failures."""
    reasons: list[HealthReason] = []
    reasons += _temperature(sample, thresholds)
    reasons += _power(sample, thresholds)
    reasons += _memory(sample, thresholds)
    reasons += _xids(sample, thresholds)
    reasons += _nvlink(sample, previous, thresholds)
    checked = tuple(f for f in _CHECKED if getattr(sample, f) is not None)
    decided = bool(sample.active_xids) or any(getattr(sample, f) is not None for f in _DECISIVE)
    for result in diag:
        if result.host != sample.host or result.index not in (None, sample.index):
            continue
        decided = True
        if result.status in (DiagStatus.FAIL, DiagStatus.WARN):
            severity = (
                ReasonSeverity.FAILED
                if result.status is DiagStatus.FAIL
                else ReasonSeverity.DEGRADED
            )
            detail = "; ".join(result.warnings)[:400] or result.status.value
            reasons.append(
                _reason(severity, f"dcgmi diag: {result.test}", detail, result.status.value)
            )
    severities = {r.severity for r in reasons}
    if ReasonSeverity.FAILED in severities:
        verdict = HealthVerdict.FAILED
    elif ReasonSeverity.DEGRADED in severities:
        verdict = HealthVerdict.DEGRADED
    elif not decided:
        verdict = HealthVerdict.UNKNOWN
        reasons.append(
            _reason(
                ReasonSeverity.UNKNOWN,
                "sample",
                "no temperature, power, ECC, XID or row-remap reading: health cannot be judged",
            )
        )
    elif ReasonSeverity.UNKNOWN in severities:
        verdict = HealthVerdict.UNKNOWN
    else:
        verdict = HealthVerdict.OK
    return GpuHealth(
        host=sample.host,
        index=sample.index,
        uuid=sample.uuid,
        verdict=verdict,
        reasons=tuple(reasons),
        checked=checked,
        sources=(sample.source,),
    )


def _temperature(sample: GpuSample, t: HealthThresholds) -> list[HealthReason]:
    out: list[HealthReason] = []
    temp = sample.temperature_c
    if temp is not None:
        failed = sample.shutdown_temperature_c or t.temperature_failed_c
        degraded = sample.slowdown_temperature_c or t.temperature_degraded_c
        if failed is not None and temp >= failed:
            out.append(
                _reason(
                    ReasonSeverity.FAILED,
                    "temperature_c",
                    f"GPU at {temp:g} °C, at or above {failed:g} °C",
                    temp,
                    failed,
                )
            )
        elif degraded is not None and temp >= degraded:
            out.append(
                _reason(
                    ReasonSeverity.DEGRADED,
                    "temperature_c",
                    f"GPU at {temp:g} °C, at or above {degraded:g} °C",
                    temp,
                    degraded,
                )
            )
    memory = sample.memory_temperature_c
    limit = t.memory_temperature_degraded_c
    if memory is not None and limit is not None and memory >= limit:
        out.append(
            _reason(
                ReasonSeverity.DEGRADED,
                "memory_temperature_c",
                f"memory at {memory:g} °C, at or above {limit:g} °C",
                memory,
                limit,
            )
        )
    return out


def _power(sample: GpuSample, t: HealthThresholds) -> list[HealthReason]:
    ratio = t.power_limit_ratio_degraded
    if ratio is None or sample.power_w is None or not sample.power_limit_w:
        return []
    bound = sample.power_limit_w * ratio
    if sample.power_w < bound:
        return []
    return [
        _reason(
            ReasonSeverity.DEGRADED,
            "power_w",
            f"drawing {sample.power_w:g} W against a {sample.power_limit_w:g} W limit "
            "(power capped)",
            sample.power_w,
            bound,
        )
    ]


def _memory(sample: GpuSample, t: HealthThresholds) -> list[HealthReason]:
    out: list[HealthReason] = []
    dbe = sample.ecc_dbe_volatile
    if dbe is not None and t.ecc_dbe_failed is not None and dbe >= t.ecc_dbe_failed:
        out.append(
            _reason(
                ReasonSeverity.FAILED,
                "ecc_dbe_volatile",
                f"{dbe} uncorrectable (double-bit) ECC errors since the last reset",
                dbe,
                t.ecc_dbe_failed,
            )
        )
    sbe = sample.ecc_sbe_volatile
    if sbe is not None and t.ecc_sbe_degraded is not None and sbe >= t.ecc_sbe_degraded:
        out.append(
            _reason(
                ReasonSeverity.DEGRADED,
                "ecc_sbe_volatile",
                f"{sbe} corrected (single-bit) ECC errors",
                sbe,
                t.ecc_sbe_degraded,
            )
        )
    if sample.row_remap_failure:
        out.append(
            _reason(
                ReasonSeverity.FAILED,
                "row_remap_failure",
                "row remapping failed: the GPU cannot retire more bad memory",
                1,
                1,
            )
        )
    if sample.row_remap_pending:
        out.append(
            _reason(
                ReasonSeverity.DEGRADED,
                "row_remap_pending",
                "a row remap is pending: the GPU needs a reset",
                1,
                1,
            )
        )
    if sample.retired_pages_pending:
        out.append(
            _reason(
                ReasonSeverity.DEGRADED,
                "retired_pages_pending",
                "a page retirement is pending: the GPU needs a reset",
                1,
                1,
            )
        )
    unc = sample.remapped_rows_uncorrectable
    bound = t.remapped_rows_uncorrectable_degraded
    if unc is not None and bound is not None and unc >= bound:
        out.append(
            _reason(
                ReasonSeverity.DEGRADED,
                "remapped_rows_uncorrectable",
                f"{unc} rows remapped after uncorrectable errors",
                unc,
                bound,
            )
        )
    replay = sample.pcie_replay_errors
    if (
        replay is not None
        and t.pcie_replay_degraded is not None
        and replay >= t.pcie_replay_degraded
    ):
        out.append(
            _reason(
                ReasonSeverity.DEGRADED,
                "pcie_replay_errors",
                f"{replay} PCIe replays",
                replay,
                t.pcie_replay_degraded,
            )
        )
    return out


def _xids(sample: GpuSample, t: HealthThresholds) -> list[HealthReason]:
    seen = set(sample.active_xids)
    if sample.last_xid:
        seen.add(sample.last_xid)
    out = []
    for xid in sorted(seen):
        known = t.xids.get(xid)
        if known is None:
            out.append(
                _reason(
                    ReasonSeverity.UNKNOWN, "xid", f"XID {xid}: not in the XID table", xid, xid=xid
                )
            )
            continue
        meaning, severity = known
        out.append(
            _reason(
                ReasonSeverity(severity),
                "xid",
                f"XID {xid}: {meaning}",
                xid,
                xid=xid,
                meaning=meaning,
            )
        )
    return out


def _nvlink(
    sample: GpuSample, previous: GpuSample | None, t: HealthThresholds
) -> list[HealthReason]:
    out = []
    for field in _NVLINK:
        now = getattr(sample, field)
        if now is None or t.nvlink_increase_degraded is None:
            continue
        before = getattr(previous, field) if previous is not None else None
        if before is None:
            if now > 0:
                out.append(
                    _reason(
                        ReasonSeverity.INFO,
                        field,
                        f"{now} since the counters were reset; no earlier sample "
                        "to tell whether they increase",
                        now,
                    )
                )
            continue
        added = now - before
        if added >= t.nvlink_increase_degraded:
            out.append(
                _reason(
                    ReasonSeverity.DEGRADED,
                    field,
                    f"{added} more since the previous sample ({before} → {now})",
                    added,
                    t.nvlink_increase_degraded,
                )
            )
    return out
