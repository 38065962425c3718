"""The InfiniBand fabric and the GPUs in the graph: nodes, ports and cables merged over every
collecting host's view, channel adapters tied to the hosts they sit in, GPUs tied to their
hosts and to the adapters nearest to them."""

from meshq_graph_engine.fabric._blast import (
    FabricBlast,
    FabricElementError,
    FabricElementMissing,
    FabricGraph,
    fabric_blast,
    load_fabric,
)
from meshq_graph_engine.fabric._project import FABRIC_KINDS, FabricView, project_fabric

__all__ = [
    "FABRIC_KINDS",
    "FabricBlast",
    "FabricElementError",
    "FabricElementMissing",
    "FabricGraph",
    "FabricView",
    "fabric_blast",
    "load_fabric",
    "project_fabric",
]
