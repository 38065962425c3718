"""License gates, read from the license agent's state (``LicenseFollower``).

REST access needs ``api_access``; each query also needs its own flag (``firewall_queries``, …).
On plans without ``api_access`` (Community, Starter) only the installation's admin key — what the
local ``meshq`` CLI sends — may list and run the queries marked ``community`` (Topology and
Inventory reads). A refusal is a 403 problem naming the flag, the plan and the plans that have it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from meshq_runtime.license import feature_refused
from network_discovery.contracts.events import LicenseStateData
from network_discovery.licensing.gates import FeatureNotAvailableError
from network_discovery.licensing.plans import plans_with

from meshq_query_gateway.auth import Principal

__all__ = ["LicenseGate", "LicenseSource", "feature_refused"]

API_ACCESS = "api_access"


class LicenseSource(Protocol):
    """What the gate needs from ``LicenseFollower``."""

    state: LicenseStateData

    def check(self, feature: str) -> bool: ...


class LicenseGate:
    def __init__(self, source: LicenseSource) -> None:
        self._source = source

    @property
    def plan(self) -> str:
        return self._source.state.plan

    def allows(self, feature: str) -> bool:
        try:
            return self._source.check(feature)
        except FeatureNotAvailableError:
            return False

    def require(self, feature: str) -> None:
        if not self.allows(feature):
            raise feature_refused(feature, self.plan)

    def community_only(self, principal: Principal) -> bool:
        """True when this caller gets only the Community queries (admin key, no api_access).

        Raises the ``api_access`` refusal for every other caller on such a plan.
        """
        if self.allows(API_ACCESS):
            return False
        if principal.admin_key:
            return True
        raise feature_refused(
            API_ACCESS,
            self.plan,
            f"REST access needs {API_ACCESS!r}, which the {self.plan} plan does not include "
            f"(plans that do: {', '.join(plans_with(API_ACCESS))}); on this plan only the local "
            "meshq CLI with the installation's admin key may run the Topology and Inventory reads",
        )

    def visible(self, principal: Principal, query: Mapping[str, Any]) -> bool:
        """Whether ``query`` (a catalogue entry) is one this caller's plan lets it run."""
        if self.community_only(principal):
            return bool(query.get("community"))
        return self.allows(str(query.get("feature") or API_ACCESS))

    def require_query(self, principal: Principal, query: Mapping[str, Any]) -> None:
        if self.community_only(principal):
            if not query.get("community"):
                raise feature_refused(API_ACCESS, self.plan)
            return
        self.require(str(query.get("feature") or API_ACCESS))
