"""How exposed each device is, from its findings: one number to weight a device by (blast
radius, alerts, SOAR playbooks), and the counts behind it.

A finding weighs its CVSS base score by how sure the verdict is: ``affected`` 1, ``affected if
configured`` 0.5, ``unknown`` (the version could not be ordered) 0.25, ``not affected (feature
off)`` 0. A finding the feed marks exploited in the wild weighs 1.5 times (capped at 10). A
finding without a score counts as 5 (medium). The device's ``score`` is the heaviest of its
findings (0 for none): one critical, exploited, affected finding makes a device as exposed as
it gets, however few others it has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from network_discovery.vuln.match import Finding

__all__ = ["STATUS_WEIGHTS", "Exposure", "exposure_by_device", "finding_weight"]

STATUS_WEIGHTS = {
    "affected": 1.0,
    "affected if configured": 0.5,
    "unknown": 0.25,
    "not affected (feature off)": 0.0,
}
EXPLOITED_FACTOR = 1.5
UNSCORED = 5.0


@dataclass(frozen=True)
class Exposure:
    device: str
    #: The heaviest finding's weight, 0 to 10.
    score: float
    affected: int
    affected_if_configured: int
    #: Affected (or if configured) findings the feed marks exploited in the wild.
    exploited: int
    #: The highest CVSS base score among the affected (or if configured) findings.
    max_cvss: float | None


def finding_weight(finding: Finding) -> float:
    weight = STATUS_WEIGHTS.get(finding.status, 0.0)
    score = finding.advisory.cvss_score
    value = (UNSCORED if score is None else score) * weight
    if finding.advisory.exploited is True:
        value *= EXPLOITED_FACTOR
    return round(min(10.0, value), 2)


def exposure_by_device(findings: Iterable[Finding]) -> dict[str, Exposure]:
    """Each device that has findings, with its exposure."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.device.device, []).append(finding)
    out = {}
    for device, found in grouped.items():
        live = [f for f in found if f.status in ("affected", "affected if configured")]
        scores = [f.advisory.cvss_score for f in live if f.advisory.cvss_score is not None]
        out[device] = Exposure(
            device=device,
            score=max(finding_weight(f) for f in found),
            affected=sum(1 for f in found if f.status == "affected"),
            affected_if_configured=sum(1 for f in found if f.status == "affected if configured"),
            exploited=sum(1 for f in live if f.advisory.exploited is True),
            max_cvss=max(scores) if scores else None,
        )
    return out
