"""The snapshot diff reports every kind of fact: a changed firewall rule and a changed route
show (they did not, when the archive listed its own kinds)."""

from __future__ import annotations

from datetime import UTC, datetime

from meshq_graph_engine.archive import snapshot_diff
from network_discovery.model import FACT_LISTS, Snapshot


def _snapshot(name: str, rule_action: str, hop: str) -> Snapshot:
    return Snapshot.model_validate(
        {
            "snapshot_id": name,
            "source": "test",
            "collected_at": datetime(2026, 12, 6, tzinfo=UTC),
            "scope": [{"device": "fw1", "facts": ["device", "firewall", "routes"]}],
            "devices": [{"hostname": "fw1"}],
            "firewall_rulesets": [
                {"device": "fw1", "name": "IN", "kind": "acl", "default_action": "deny"}
            ],
            "firewall_rules": [
                {
                    "device": "fw1",
                    "ruleset": "IN",
                    "position": 1,
                    "name": "IN line 1",
                    "action": rule_action,
                }
            ],
            "routes": [
                {
                    "device": "fw1",
                    "prefix": "0.0.0.0/0",
                    "protocol": "static",
                    "next_hops": [{"address": hop}],
                }
            ],
        }
    )


def test_rule_and_route_changes_are_in_the_diff() -> None:
    a = _snapshot("a", "permit", "10.0.0.1")
    b = _snapshot("b", "deny", "10.0.0.2")
    kinds = snapshot_diff(a, b)["kinds"]
    assert set(kinds) == {"firewall_rules", "routes"}
    assert kinds["firewall_rules"]["changed"] and kinds["routes"]["changed"]


def test_the_diff_covers_every_fact_list() -> None:
    snapshot_fields = set(Snapshot.model_fields) - {
        "format_version",
        "snapshot_id",
        "source",
        "collected_at",
        "scope",
        "configs",  # configuration texts: kept for compliance, never facts
    }
    assert snapshot_fields == set(FACT_LISTS)
