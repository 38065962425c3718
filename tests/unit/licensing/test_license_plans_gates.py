"""Plans, feature flags, gates, demo mode, key resolution and Community without a key."""

from __future__ import annotations

from pathlib import Path

import pytest
from network_discovery.licensing import verifier
from network_discovery.licensing.gates import FeatureNotAvailableError, check_feature, demo_mode
from network_discovery.licensing.plans import FEATURE_FLAGS, PLANS, features_for, plans_with

GUIDE_FLAGS = {
    "api_access": "pro",
    "firewall_queries": "pro",
    "whatif_simulation": "pro",
    "mcp_server": "pro",
    "redis_clustering": "pro",
    "rbac": "pro",
    "netbox_sync": "pro",
    "audit_logging": "pro",
    "oidc_sso": "enterprise",
    "soar_webhooks": "enterprise",
    "bgp_intelligence": "pro",
    "server_metrics": "pro",
    "alert_rules": "pro",
    "nccl_visualization": "enterprise",
    "compliance_reporting": "enterprise",
    "flow_analytics": "enterprise",
    "k8s_observability": "enterprise",
    "synthetic_monitoring": "enterprise",
    "vulnerability_correlation": "enterprise",
}


def test_every_flag_of_the_guide_on_the_right_plans() -> None:
    assert set(FEATURE_FLAGS) == set(GUIDE_FLAGS)
    for flag, cheapest in GUIDE_FLAGS.items():
        expected = ["pro", "enterprise"] if cheapest == "pro" else ["enterprise"]
        assert plans_with(flag) == expected, flag
        assert features_for("community")[flag] is False
        assert features_for("starter")[flag] is False


def test_limits() -> None:
    assert (
        PLANS["community"]["max_managed_devices"],
        PLANS["community"]["max_network_devices"],
    ) == (1, 50)
    assert (PLANS["pro"]["max_managed_devices"], PLANS["pro"]["max_network_devices"]) == (5, 750)
    assert PLANS["starter"]["max_network_devices"] < PLANS["pro"]["max_network_devices"]
    assert PLANS["enterprise"]["max_managed_devices"] > PLANS["pro"]["max_managed_devices"]
    with pytest.raises(ValueError, match="unknown plan"):
        features_for("gold")


def test_check_feature_passes_or_names_feature_plan_and_plans() -> None:
    assert check_feature("pro", "api_access", environ={}) is True
    with pytest.raises(FeatureNotAvailableError) as exc:
        check_feature("pro", "soar_webhooks", environ={})
    assert "soar_webhooks" in str(exc.value) and "pro" in str(exc.value)
    assert "enterprise" in str(exc.value)
    with pytest.raises(FeatureNotAvailableError):
        check_feature("community", "api_access", environ={})
    with pytest.raises(FeatureNotAvailableError):
        check_feature("enterprise", "no_such_flag", environ={})
    # the server's granted flags win over the built-in table
    with pytest.raises(FeatureNotAvailableError):
        check_feature("pro", "api_access", features={"api_access": False}, environ={})


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "Yes"])
def test_demo_mode_opens_every_gate(value: str) -> None:
    env = {"MESHOPTIXIQ_DEMO_MODE": value}
    assert demo_mode(env)
    assert check_feature("community", "soar_webhooks", environ=env) is True


@pytest.mark.parametrize("value", ["", "false", "0", "no", "on", "truthy"])
def test_other_values_leave_gates_shut(value: str) -> None:
    env = {"MESHOPTIXIQ_DEMO_MODE": value}
    assert not demo_mode(env)
    with pytest.raises(FeatureNotAvailableError):
        check_feature("community", "api_access", environ=env)


def test_demo_mode_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHOPTIXIQ_DEMO_MODE", "true")
    assert check_feature("community", "rbac")
    monkeypatch.setenv("MESHOPTIXIQ_DEMO_MODE", "false")
    with pytest.raises(FeatureNotAvailableError):
        check_feature("community", "rbac")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("MESHOPTIXIQ_LICENSE_KEY", raising=False)
    return tmp_path


def test_key_from_env_then_file_first_non_empty_line(home: Path, monkeypatch) -> None:
    assert verifier.resolve_key() is None
    (home / ".meshoptixiq").mkdir()
    (home / ".meshoptixiq" / "license.key").write_text("\n  \nmq-pro-fromfile1\nmq-pro-second22\n")
    assert verifier.resolve_key() == "mq-pro-fromfile1"
    monkeypatch.setenv("MESHOPTIXIQ_LICENSE_KEY", "mq-enterprise-fromenv1")
    assert verifier.resolve_key() == "mq-enterprise-fromenv1"


def test_no_key_at_all_is_community_with_its_limits(home: Path) -> None:
    assert verifier.get_plan() == "community"
    features = verifier.get_features()
    assert features["max_managed_devices"] == 1 and features["max_network_devices"] == 50
    assert not any(features[f] for f in FEATURE_FLAGS)
    assert not (home / ".meshoptixiq" / "license.state").exists()


def test_the_package_import_gives_the_verifier_module() -> None:
    from network_discovery.licensing import verifier as v

    assert callable(v.get_plan) and callable(v.get_features)


def test_compiled_verifier_when_expected() -> None:
    import os

    from network_discovery.licensing import verifier as v

    if os.environ.get("MESHQ_EXPECT_COMPILED_VERIFIER"):
        assert v.__file__.endswith(".so")
    else:
        assert v.__file__.endswith((".py", ".so"))
