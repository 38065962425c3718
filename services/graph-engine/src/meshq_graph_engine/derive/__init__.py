"""Pure derivations over collected facts: links, unmanaged neighbours, endpoints, subnets.

Every function takes plain lists of model objects and returns new ones, so the same code
serves one snapshot and the union of every fact in the graph.
"""

from meshq_graph_engine.derive._all import Derived, FactSource, derive_all, merge_links
from meshq_graph_engine.derive._resolve import DeviceIndex, clean_name
from meshq_graph_engine.derive.endpoints import (
    MAX_MACS_ON_TRUNK,
    NOT_EDGE,
    derive_endpoints,
    derive_subnets,
)
from meshq_graph_engine.derive.links import (
    MIXED_CONFIDENCE,
    SIGHTING_CONFIDENCE,
    Sighting,
    derive_links,
    derive_sightings,
    derive_unmanaged,
    uplink_ports,
)

__all__ = [
    "MAX_MACS_ON_TRUNK",
    "MIXED_CONFIDENCE",
    "NOT_EDGE",
    "SIGHTING_CONFIDENCE",
    "Derived",
    "DeviceIndex",
    "FactSource",
    "Sighting",
    "clean_name",
    "derive_all",
    "derive_endpoints",
    "derive_links",
    "derive_sightings",
    "derive_subnets",
    "derive_unmanaged",
    "merge_links",
    "uplink_ports",
]
