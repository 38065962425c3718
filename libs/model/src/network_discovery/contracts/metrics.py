"""The interface counters a metrics sample carries, in the order collectors hand them over
and the metrics store keeps them (``network_discovery.metrics`` and
``meshq_runtime.metrics_store`` both read this list)."""

from __future__ import annotations

__all__ = ["COUNTERS"]

COUNTERS = (
    "in_octets",
    "out_octets",
    "in_ucast",
    "out_ucast",
    "in_mcast",
    "out_mcast",
    "in_bcast",
    "out_bcast",
    "in_errors",
    "out_errors",
    "in_discards",
    "out_discards",
)
