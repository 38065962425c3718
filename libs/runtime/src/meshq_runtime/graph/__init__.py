"""Graph stores: Memgraph over Bolt, or the embedded LadybugDB."""

from meshq_runtime.graph.store import EmbeddedStore, GraphStore, MemgraphStore, open_graph_store

__all__ = ["EmbeddedStore", "GraphStore", "MemgraphStore", "open_graph_store"]
