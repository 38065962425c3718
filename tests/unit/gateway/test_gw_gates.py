"""License gates on the gateway: api_access, per-query flags, and Community's admin-key reads."""

from __future__ import annotations

import pytest
from meshq_query_gateway.auth import ADMIN, Principal
from meshq_query_gateway.gates import LicenseGate
from meshq_runtime.http import ProblemError
from network_discovery.contracts.events import LicenseStateData
from network_discovery.licensing.gates import check_feature
from network_discovery.licensing.plans import features_for

NAMED = Principal("ci", "api_key", frozenset({"Network-Ops"}))
TOPOLOGY = {"name": "topology_neighbors", "feature": "api_access", "community": True}
FIREWALL = {"name": "firewall_rules", "feature": "firewall_queries", "community": False}
BGP = {"name": "bgp_peers", "feature": "bgp_intelligence", "community": False}


class Source:
    def __init__(self, plan: str) -> None:
        self.state = LicenseStateData(plan=plan, status="active", features=features_for(plan))

    def check(self, feature: str) -> bool:
        return check_feature(self.state.plan, feature, features=self.state.features, environ={})


def _refusal(exc: pytest.ExceptionInfo[ProblemError]) -> dict[str, object]:
    return {"status": exc.value.status, **exc.value.ext}


def test_community_admin_key_runs_only_community_queries() -> None:
    gate = LicenseGate(Source("community"))
    gate.require_query(ADMIN, TOPOLOGY)
    assert gate.visible(ADMIN, TOPOLOGY) and not gate.visible(ADMIN, FIREWALL)
    with pytest.raises(ProblemError) as exc:
        gate.require_query(ADMIN, FIREWALL)
    assert _refusal(exc) == {
        "status": 403,
        "feature": "api_access",
        "plan": "community",
        "plans": ["pro", "enterprise"],
    }


@pytest.mark.parametrize("plan", ["community", "starter"])
def test_other_clients_need_api_access(plan: str) -> None:
    gate = LicenseGate(Source(plan))
    with pytest.raises(ProblemError) as exc:
        gate.require_query(NAMED, TOPOLOGY)
    assert _refusal(exc)["feature"] == "api_access"
    assert _refusal(exc)["plan"] == plan
    assert "api_access" in exc.value.detail and "pro, enterprise" in exc.value.detail


def test_per_query_flag_names_the_plans_that_have_it() -> None:
    gate = LicenseGate(Source("pro"))
    gate.require_query(NAMED, FIREWALL)
    gate.require_query(NAMED, TOPOLOGY)
    enterprise_only = {"name": "x", "feature": "flow_analytics"}
    with pytest.raises(ProblemError) as exc:
        gate.require_query(NAMED, enterprise_only)
    assert _refusal(exc) == {
        "status": 403,
        "feature": "flow_analytics",
        "plan": "pro",
        "plans": ["enterprise"],
    }
    assert not gate.visible(NAMED, enterprise_only)
    assert gate.visible(NAMED, BGP)


def test_demo_mode_opens_every_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHOPTIXIQ_DEMO_MODE", "true")
    source = Source("community")
    source.check = lambda feature: check_feature("community", feature)  # type: ignore[method-assign]
    gate = LicenseGate(source)
    gate.require_query(NAMED, FIREWALL)
    assert gate.community_only(NAMED) is False
