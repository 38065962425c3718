"""The plan's device limit, read through the customer-facing licensing package."""

from __future__ import annotations

import structlog

__all__ = ["device_limit"]

log = structlog.get_logger(__name__)


def device_limit() -> tuple[str, int | None]:
    """(plan name, max_network_devices) of the installation; no limit if licensing is absent."""
    try:
        from network_discovery.licensing import verifier
    except ImportError:
        return ("unlicensed", None)
    features = verifier.get_features()
    limit = features.get("max_network_devices")
    return (verifier.get_plan(), int(limit) if isinstance(limit, int) else None)
