"""The plans and their feature flags and limits (the integration guide's table).

``max_managed_devices`` counts agent installations registered against a key;
``max_network_devices`` counts the network devices in the graph.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "FEATURE_FLAGS",
    "LIMITS",
    "PLANS",
    "PLAN_NAMES",
    "PlanName",
    "features_for",
    "plans_with",
]

PlanName = Literal["community", "starter", "pro", "enterprise"]
PLAN_NAMES: Final[tuple[str, ...]] = ("community", "starter", "pro", "enterprise")

_PRO_PLUS = frozenset({"pro", "enterprise"})
_ENTERPRISE = frozenset({"enterprise"})

#: Every feature flag, in display order, with the plans that include it.
_FLAG_PLANS: Final[dict[str, frozenset[str]]] = {
    "api_access": _PRO_PLUS,
    "firewall_queries": _PRO_PLUS,
    "whatif_simulation": _PRO_PLUS,
    "mcp_server": _PRO_PLUS,
    "redis_clustering": _PRO_PLUS,
    "rbac": _PRO_PLUS,
    "netbox_sync": _PRO_PLUS,
    "audit_logging": _PRO_PLUS,
    "oidc_sso": _ENTERPRISE,
    "soar_webhooks": _ENTERPRISE,
    "bgp_intelligence": _PRO_PLUS,
    "server_metrics": _PRO_PLUS,
    "alert_rules": _PRO_PLUS,
    "nccl_visualization": _ENTERPRISE,
    "compliance_reporting": _ENTERPRISE,
    "flow_analytics": _ENTERPRISE,
    "k8s_observability": _ENTERPRISE,
    "synthetic_monitoring": _ENTERPRISE,
    "vulnerability_correlation": _ENTERPRISE,
}
FEATURE_FLAGS: Final[tuple[str, ...]] = tuple(_FLAG_PLANS)

#: Limits per plan: (max_managed_devices, max_network_devices).
_LIMITS: Final[dict[str, tuple[int, int]]] = {
    "community": (1, 50),
    "starter": (2, 250),
    "pro": (5, 750),
    "enterprise": (25, 10_000),
}
LIMITS: Final[tuple[str, ...]] = ("max_managed_devices", "max_network_devices")


def features_for(plan: str) -> dict[str, bool | int]:
    """The flags and limits of a plan, as ``verifier.get_features()`` returns them."""
    if plan not in _LIMITS:
        raise ValueError(f"unknown plan {plan!r}; plans: {', '.join(PLAN_NAMES)}")
    out: dict[str, bool | int] = {f: plan in plans for f, plans in _FLAG_PLANS.items()}
    managed, network = _LIMITS[plan]
    out["max_managed_devices"] = managed
    out["max_network_devices"] = network
    return out


def plans_with(feature: str) -> list[str]:
    """The plans that include a feature flag, cheapest first."""
    if feature not in _FLAG_PLANS:
        raise KeyError(feature)
    return [p for p in PLAN_NAMES if p in _FLAG_PLANS[feature]]


#: Read-only view: plan name -> flags and limits.
PLANS = MappingProxyType({p: MappingProxyType(features_for(p)) for p in PLAN_NAMES})
