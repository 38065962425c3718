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

Policy belongs to one device: :func:`device_policy` gives what one device's policy facts make,
the relationships from the device and to its interfaces left for the caller to draw where
those exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import (
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    Route,
    interface_id,
)

from meshq_graph_engine.facts import FactRow, row_dict

__all__ = ["POLICY_KINDS", "DevicePolicy", "device_policy"]

#: The fact kinds (and firewall parts) policy is made from.
POLICY_KINDS = (
    "firewall:zones",
    "firewall:rulesets",
    "firewall:rules",
    "firewall:objects",
    "routes",
)


@dataclass
class DevicePolicy:
    """What one device's policy facts make."""

    #: label -> node id -> its properties (``id`` included)
    nodes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    #: (relationship, node id): drawn from the device, where the device exists
    owned: dict[tuple[str, str], None] = field(default_factory=dict)
    #: (relationship, source, destination) -> properties, drawn where its interface exists
    #: (``IN_ZONE`` from it, ``APPLIED_TO`` to it)
    to_interfaces: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    #: (relationship, source, destination) -> properties, always drawn
    rels: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)


def device_policy(device: str, facts: Callable[[str], Sequence[FactRow]]) -> DevicePolicy:
    """Zones, rule sets, rules, objects and routes of one device (``facts(kind)``: the
    device's rows of that kind or firewall part)."""
    out = DevicePolicy()

    def owned(label: str, rel: str, row: dict[str, Any]) -> None:
        out.nodes[label][row["id"]] = row
        out.owned[(rel, row["id"])] = None

    for zone in (FirewallZone.model_validate(row_dict(r)) for r in facts("firewall:zones")):
        owned("FirewallZone", "HAS_ZONE", {**zone.model_dump(mode="json"), "id": zone.id})
        for name in zone.interfaces:
            out.to_interfaces[("IN_ZONE", interface_id(zone.device, name), zone.id)] = {}

    rulesets: set[str] = set()
    for ruleset in (
        FirewallRuleset.model_validate(row_dict(r)) for r in facts("firewall:rulesets")
    ):
        rulesets.add(ruleset.id)
        row = {
            **ruleset.model_dump(mode="json"),
            "id": ruleset.id,
            "bindings": [str(b) for b in ruleset.bindings],
        }
        owned("FirewallRuleset", "HAS_RULESET", row)
        directions: dict[str, set[str]] = defaultdict(set)
        for binding in ruleset.bindings:
            if binding.interface is not None:
                directions[interface_id(ruleset.device, binding.interface)].add(binding.direction)
        for iface, seen in directions.items():
            out.to_interfaces[("APPLIED_TO", ruleset.id, iface)] = {
                "direction": ",".join(sorted(seen))
            }

    for rule in (FirewallRule.model_validate(row_dict(r)) for r in facts("firewall:rules")):
        row = {
            **rule.model_dump(mode="json"),
            "id": rule.id,
            "services": [str(s) for s in rule.services],
            "nat": str(rule.nat) if rule.nat is not None else None,
        }
        owned("FirewallRule", "HAS_FIREWALL_RULE", row)
        if rule.ruleset_id in rulesets:
            out.rels[("HAS_RULE", rule.ruleset_id, rule.id)] = {}

    for obj in (FirewallObject.model_validate(row_dict(r)) for r in facts("firewall:objects")):
        row = {
            **obj.model_dump(mode="json"),
            "id": obj.id,
            "services": [str(s) for s in obj.services],
        }
        owned("FirewallObject", "HAS_FIREWALL_OBJECT", row)

    for route in (Route.model_validate(row_dict(r)) for r in facts("routes")):
        row = {
            **route.model_dump(mode="json"),
            "id": route.id,
            "next_hops": [hop.address or "" for hop in route.next_hops],
            "interfaces": [hop.interface or "" for hop in route.next_hops],
            "prefix_length": route.prefix_length,
            "version": route.version,
        }
        owned("Route", "HAS_ROUTE", row)
    return out
