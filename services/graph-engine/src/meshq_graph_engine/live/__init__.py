"""The graph kept up to date from fact-set changes (see :mod:`._graph`)."""

from meshq_graph_engine.live._graph import FactChange, LiveGraph

__all__ = ["FactChange", "LiveGraph"]
