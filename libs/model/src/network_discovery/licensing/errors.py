"""The exceptions a license check raises, one per answer of the license server."""

from __future__ import annotations

__all__ = [
    "AnswerTamperedError",
    "ClockSkewError",
    "DeviceLimitExceededError",
    "LicenseError",
    "LicenseExpiredError",
    "LicenseInvalidError",
    "LicenseNotFoundError",
    "LicenseServerUnreachableError",
]


class LicenseError(Exception):
    """Base of every licensing error.

    ``answer`` is the server's signed refusal (``{"payload", "signature"}``, already verified
    for this request) when the server signed one (revoked, expired, device limit), else None.
    """

    answer: dict[str, str] | None = None


class LicenseNotFoundError(LicenseError):
    """404: the key is unknown to the server (never issued, or purged after revocation)."""


class LicenseExpiredError(LicenseError):
    """402: the license's expiration date has passed."""


class LicenseInvalidError(LicenseError):
    """403 (revoked: message ``invalid``), a bad request signature, or an untrustworthy answer."""


class DeviceLimitExceededError(LicenseError):
    """409: every installation seat of the plan is taken."""

    def __init__(self, message: str = "", *, registered: int = 0, allowed: int = 0) -> None:
        super().__init__(
            message
            or f"device limit exceeded ({registered}/{allowed} registered): deregister a device"
            " or upgrade the plan"
        )
        self.registered, self.allowed = registered, allowed


class ClockSkewError(LicenseInvalidError):
    """401 ``clock_skew``: this machine's clock is more than 5 minutes from UTC."""


class LicenseServerUnreachableError(LicenseError):
    """The license server could not be reached (network, DNS, proxy, 5xx): grace applies."""


class AnswerTamperedError(LicenseInvalidError):
    """The server's answer is unsigned, altered or not for this request: never trusted."""
