"""Upstream roles, device weights, impact score and severity: the documented tables."""

from __future__ import annotations

from collections.abc import Iterable

from meshq_graph_engine.blast._model import Device

__all__ = [
    "CRITICALITY_WEIGHTS",
    "DEFAULT_ROLE_WEIGHT",
    "ENDPOINT_WEIGHT",
    "ROLE_WEIGHTS",
    "SEVERITIES",
    "UPSTREAM_ROLES",
    "device_weight",
    "impact_score",
    "is_upstream_role",
    "severity",
]

#: Roles that make a device part of the network's upstream (``role`` as the model stores
#: it: lower case, spaces as ``_``; ``-`` is read as ``_`` too, so "WAN edge", "wan-edge" and
#: "wan_edge" all count).
UPSTREAM_ROLES = frozenset({"core", "border", "firewall", "wan_edge"})

#: How much an affected device weighs in the impact score, by role.
ROLE_WEIGHTS: dict[str, float] = {
    "core": 10,
    "border": 10,
    "firewall": 10,
    "wan_edge": 10,
    "spine": 8,
    "distribution": 6,
    "router": 6,
    "leaf": 5,
    "wireless_controller": 4,
    "access": 3,
    "management": 2,
    "server": 2,
    "access_point": 1,
    "phone": 1,
}
DEFAULT_ROLE_WEIGHT = 2.0
#: A device's ``criticality``, when set, replaces its role weight.
CRITICALITY_WEIGHTS: dict[str, float] = {"critical": 10, "high": 7, "medium": 4, "low": 1}
#: Each endpoint located on an affected device adds this much.
ENDPOINT_WEIGHT = 0.2

SEVERITIES = ("low", "medium", "high", "critical")
#: Lowest blast_radius_pct / impact_score for each severity above low.
PCT_THRESHOLDS = {"medium": 10.0, "high": 25.0, "critical": 50.0}
IMPACT_THRESHOLDS = {"medium": 15, "high": 35, "critical": 60}
#: Share of managed devices degraded (lost redundancy) that makes a failure at least medium.
DEGRADED_MEDIUM_PCT = 10.0


def _role(role: str | None) -> str:
    return (role or "").strip().lower().replace("-", "_").replace(" ", "_")


def is_upstream_role(role: str | None) -> bool:
    return _role(role) in UPSTREAM_ROLES


def device_weight(device: Device) -> float:
    """Criticality weight when set, else role weight; the device's endpoints on top."""
    if device.criticality in CRITICALITY_WEIGHTS:
        base = CRITICALITY_WEIGHTS[str(device.criticality)]
    else:
        base = ROLE_WEIGHTS.get(_role(device.role), DEFAULT_ROLE_WEIGHT)
    return base + ENDPOINT_WEIGHT * device.endpoints


def impact_score(
    affected: Iterable[Device], everything: Iterable[Device] | float, extra: int
) -> int:
    """0-100: the affected devices' weight over the whole network's (``everything``: the
    devices, or the sum of their weights); ``extra`` endpoints on the failed segment itself
    (not on an affected device) add their endpoint weight."""
    if isinstance(everything, int | float):
        total = float(everything)
    else:
        total = sum(device_weight(d) for d in everything)
    if total <= 0:
        return 0
    lost = sum(device_weight(d) for d in affected) + ENDPOINT_WEIGHT * extra
    return max(0, min(100, round(100 * lost / total)))


def _level(value: float, thresholds: dict[str, float] | dict[str, int]) -> int:
    level = 0
    for i, name in enumerate(SEVERITIES[1:], start=1):
        if value >= thresholds[name]:
            level = i
    return level


def severity(blast_radius_pct: float, impact: int, degraded_pct: float) -> str:
    """The higher of the two tables' levels; lost redundancy alone makes it at least medium."""
    level = max(_level(blast_radius_pct, PCT_THRESHOLDS), _level(impact, IMPACT_THRESHOLDS))
    if degraded_pct >= DEGRADED_MEDIUM_PCT:
        level = max(level, 1)
    return SEVERITIES[level]
