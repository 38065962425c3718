"""The plan's device limit, as the installation's license agent states it."""

from __future__ import annotations

from collections.abc import Callable

from meshq_runtime.license import LicenseFollower

__all__ = ["device_limit_from"]


def device_limit_from(follower: LicenseFollower) -> Callable[[], tuple[str, int | None]]:
    """(plan, ``max_network_devices``) now; demo mode opens features, never this limit."""

    def current() -> tuple[str, int | None]:
        limit = follower.state.features.get("max_network_devices")
        return follower.state.plan, int(limit) if isinstance(limit, int) else None

    return current
