"""RBAC policy: both role forms of the guide, groups to roles, globs per verb, bad files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from meshq_query_gateway.policy_store import PolicyStore
from meshq_query_gateway.rbac import PolicyError, parse_policy

GUIDE_VERBS = """
roles:
  network:
    resources: ["topology_*", "blast_radius_*", "endpoints_*", "locate_endpoint_*"]
    verbs: ["execute"]
  security:
    resources: ["firewall_*", "path_analysis", "deny_rules_summary"]
    verbs: ["execute"]
  readonly:
    resources: ["*"]
    verbs: ["list"]
groups:
  "Network-Ops":
    roles: [network]
  "Security-Team":
    roles: [security]
  "Management":
    roles: [readonly]
"""

GUIDE_LISTS = """
roles:
  network:
    - "topology_*"
    - "blast_radius_*"
  security:
    - "firewall_*"
    - "path_analysis"
"""


def test_roles_with_resources_and_verbs() -> None:
    policy = parse_policy(GUIDE_VERBS)
    assert policy.allows({"Network-Ops"}, "execute", "topology_neighbors")
    assert not policy.allows({"Network-Ops"}, "list", "topology_neighbors")
    assert not policy.allows({"Network-Ops"}, "execute", "firewall_rules")
    assert policy.allows({"Security-Team"}, "execute", "deny_rules_summary")
    assert not policy.allows({"Security-Team"}, "execute", "deny_rules_summary_x")
    assert policy.allows({"Management"}, "list", "anything_at_all")
    assert not policy.allows({"Management"}, "execute", "topology_neighbors")
    assert not policy.allows({"Unknown-Group"}, "list", "topology_neighbors")
    assert policy.allows({"Management", "Network-Ops"}, "execute", "topology_neighbors")


def test_roles_as_plain_glob_lists_grant_both_verbs() -> None:
    policy = parse_policy(GUIDE_LISTS)
    # a claim may name a role directly
    assert policy.allows({"network"}, "execute", "blast_radius_device")
    assert policy.allows({"network"}, "list", "topology_vlans")
    assert not policy.allows({"network"}, "execute", "firewall_rules")


def test_admin_role() -> None:
    policy = parse_policy(GUIDE_LISTS + 'groups:\n  "Platform": [admin]\n')
    assert policy.is_admin({"Platform"}) and policy.allows({"Platform"}, "execute", "x")
    assert not policy.is_admin({"network"})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("roles: [a, b]", "mapping"),
        ("roles:\n  r: {resources: [x], verbs: [delete]}", "roles.r.verbs"),
        ("roles:\n  r: {resources: []}", "roles.r.resources"),
        ("roles:\n  r: [x]\ngroups:\n  g: [nope]", "groups.g names undefined roles: nope"),
        ("roles: {r: [x]}\nextra: 1", "unknown top-level keys: extra"),
        ("roles: [", "not valid YAML"),
    ],
)
def test_broken_policies_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy(text)
    assert fragment in str(exc.value)


def test_a_broken_file_keeps_the_last_good_policy(tmp_path: Path) -> None:
    path = tmp_path / "rbac.yaml"
    path.write_text(GUIDE_VERBS)
    store = PolicyStore(path)
    assert store.reload() == (True, None)
    digest = store.digest
    path.write_text("roles: [")
    os.utime(path, (1, 1))
    assert store.changed()
    ok, error = store.reload()
    assert not ok and error and "not valid YAML" in error
    assert store.digest == digest
    assert store.policy is not None and store.policy.allows({"Management"}, "list", "q")
    path.write_text(GUIDE_LISTS)
    assert store.reload()[0] and store.digest != digest and store.last_error is None
    assert not store.changed()


def test_a_file_broken_from_the_start_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "rbac.yaml"
    path.write_text("roles: 3")
    store = PolicyStore(path)
    assert store.reload()[0] is False
    assert store.policy is not None and not store.policy.allows({"x"}, "list", "q")


def test_the_sample_policy_parses() -> None:
    sample = Path(__file__).parents[3] / "deploy" / "rbac.yaml"
    policy = parse_policy(sample.read_text())
    assert policy.allows({"NetOps-Engineers"}, "execute", "topology_edges")
    assert policy.allows({"IT-Audit"}, "list", "orphaned_ips")
    assert not policy.allows({"IT-Audit"}, "execute", "orphaned_ips")


def test_every_gateway_variable_is_documented() -> None:
    from meshq_query_gateway.settings import Settings
    from meshq_runtime.settings import env_names

    doc = (Path(__file__).parents[3] / "docs" / "api.md").read_text()
    own = env_names(Settings) - {"MESHQ_HOST", "MESHQ_LOG_LEVEL", "LOG_LEVEL", "MESHQ_LOG_FORMAT"}
    own = {n for n in own if not n.startswith(("MESHQ_KAFKA_", "MESHQ_DATA_DIR", "MESHQ_FAIL"))}
    own -= {"MESHOPTIXIQ_DEMO_MODE", "MESHQ_REDIS_URL", "MESHQ_GATEWAY_PORT"}
    assert {n for n in own if f"`{n}`" not in doc and n not in doc} == set()


def test_a_claim_that_only_says_admin_is_not_the_admin() -> None:
    """The policy defines no admin group: a token whose groups say "admin" gets nothing."""
    policy = parse_policy(GUIDE_LISTS)
    assert not policy.is_admin({"admin"})
    assert not policy.allows({"admin"}, "execute", "all_devices")
    mapped = parse_policy(GUIDE_LISTS + 'groups:\n  "Platform": [admin]\n')
    assert mapped.is_admin({"Platform"}) and not mapped.is_admin({"admin"})
