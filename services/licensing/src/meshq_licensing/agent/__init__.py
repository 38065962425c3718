"""The license agent of an installation: one seat, validation, grace, license events."""

from meshq_licensing.agent.service import LicenseAgent

__all__ = ["LicenseAgent"]
