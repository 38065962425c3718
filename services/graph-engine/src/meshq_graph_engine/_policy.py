"""Firewall policy and routing tables in the graph.

``Device-[:HAS_ZONE]->FirewallZone<-[:IN_ZONE]-Interface``,
``Device-[:HAS_RULESET]->FirewallRuleset-[:HAS_RULE]->FirewallRule`` (and
``Device-[:HAS_FIREWALL_RULE]->FirewallRule`` for device-wide reads),
``FirewallRuleset-[:APPLIED_TO {direction}]->Interface``,
``Device-[:HAS_FIREWALL_OBJECT]->FirewallObject`` and ``Device-[:HAS_ROUTE]->Route``.
Nested values are stored flat: services, bindings and a rule's translation (``nat``) as their
text form, a route's next hops as two aligned lists (``next_hops`` addresses and
``interfaces``, ``""`` where a hop has none).
Relationships to interfaces are drawn only to interfaces the graph knows; a zone naming an
interface nobody collected (or an iptables wildcard such as ``eth+``) keeps it in its
``interfaces`` list only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container
from typing import TYPE_CHECKING, Any

from network_discovery.model import (
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    Route,
    interface_id,
)

from meshq_graph_engine.facts import FactStore

if TYPE_CHECKING:
    from meshq_graph_engine.projection import Projection

__all__ = ["project_policy"]


def project_policy(
    store: FactStore, out: Projection, devices: Container[str], interfaces: Container[str]
) -> None:
    """Add zones, rule sets, rules, objects and routes of every device to ``out``."""

    def owned(label: str, rel: str, device: str, row: dict[str, Any]) -> None:
        out.add_node(label, row)
        if device in devices:
            out.add_rel(rel, device, row["id"])

    for zone in store.models_of_kind("firewall:zones", FirewallZone):
        owned(
            "FirewallZone", "HAS_ZONE", zone.device, {**zone.model_dump(mode="json"), "id": zone.id}
        )
        for name in zone.interfaces:
            iface = interface_id(zone.device, name)
            if iface in interfaces:
                out.add_rel("IN_ZONE", iface, zone.id)

    rulesets: set[str] = set()
    for ruleset in store.models_of_kind("firewall:rulesets", FirewallRuleset):
        rulesets.add(ruleset.id)
        row = {
            **ruleset.model_dump(mode="json"),
            "id": ruleset.id,
            "bindings": [str(b) for b in ruleset.bindings],
        }
        owned("FirewallRuleset", "HAS_RULESET", ruleset.device, row)
        directions: dict[str, set[str]] = defaultdict(set)
        for binding in ruleset.bindings:
            if binding.interface is not None:
                directions[interface_id(ruleset.device, binding.interface)].add(binding.direction)
        for iface, seen in directions.items():
            if iface in interfaces:
                out.add_rel("APPLIED_TO", ruleset.id, iface, direction=",".join(sorted(seen)))

    for rule in store.models_of_kind("firewall:rules", FirewallRule):
        row = {
            **rule.model_dump(mode="json"),
            "id": rule.id,
            "services": [str(s) for s in rule.services],
            "nat": str(rule.nat) if rule.nat is not None else None,
        }
        owned("FirewallRule", "HAS_FIREWALL_RULE", rule.device, row)
        if rule.ruleset_id in rulesets:
            out.add_rel("HAS_RULE", rule.ruleset_id, rule.id)

    for obj in store.models_of_kind("firewall:objects", FirewallObject):
        row = {
            **obj.model_dump(mode="json"),
            "id": obj.id,
            "services": [str(s) for s in obj.services],
        }
        owned("FirewallObject", "HAS_FIREWALL_OBJECT", obj.device, row)

    for route in store.models_of_kind("routes", Route):
        row = {
            **route.model_dump(mode="json"),
            "id": route.id,
            "next_hops": [hop.address or "" for hop in route.next_hops],
            "interfaces": [hop.interface or "" for hop in route.next_hops],
            "prefix_length": route.prefix_length,
            "version": route.version,
        }
        owned("Route", "HAS_ROUTE", route.device, row)
