"""Licensing of MeshOptixIQ: plans and features, the verifier, feature gates.

Use ``from network_discovery.licensing import verifier`` (never a path import): production
builds ship ``verifier`` compiled with Cython, and the package import picks the compiled module
ahead of the source file.
"""

from network_discovery.licensing.errors import (
    ClockSkewError,
    DeviceLimitExceededError,
    LicenseError,
    LicenseExpiredError,
    LicenseInvalidError,
    LicenseNotFoundError,
    LicenseServerUnreachableError,
)

__all__ = [
    "ClockSkewError",
    "DeviceLimitExceededError",
    "LicenseError",
    "LicenseExpiredError",
    "LicenseInvalidError",
    "LicenseNotFoundError",
    "LicenseServerUnreachableError",
]
