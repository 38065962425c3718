"""Firewall policy evaluation, unreachable filter lines (shadowed rules), route lookup and
path analysis.

Pure computation over compiled rules, routing tables and a layer-3 view of the graph; the
catalogue (``catalogue/firewall``) loads these from the graph store.
"""

from meshq_graph_engine.firewall._live import warm_up
from meshq_graph_engine.firewall.path import PathAnswer, analyse
from meshq_graph_engine.firewall.policy import Decision, Flow, Rule, RuleSet, Service, make_flow
from meshq_graph_engine.firewall.routes import NextHop, RouteEntry, RouteTable
from meshq_graph_engine.firewall.shadow import (
    Shadowed,
    Unreachable,
    shadowed_rules,
    unreachable_lines,
)
from meshq_graph_engine.firewall.topology import (
    Binding,
    DevicePolicy,
    EndpointAddress,
    L3Interface,
    Topology,
)

__all__ = [
    "Binding",
    "Decision",
    "DevicePolicy",
    "EndpointAddress",
    "Flow",
    "L3Interface",
    "NextHop",
    "PathAnswer",
    "RouteEntry",
    "RouteTable",
    "Rule",
    "RuleSet",
    "Service",
    "Shadowed",
    "Topology",
    "Unreachable",
    "analyse",
    "make_flow",
    "shadowed_rules",
    "unreachable_lines",
    "warm_up",
]
