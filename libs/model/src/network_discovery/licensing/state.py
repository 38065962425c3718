"""What a validated license means at a given moment: active, grace, restricted or expired.

Pure functions over a verified answer payload, the time of the last successful validation and
the current time; the verifier (file cache) and the agent (PostgreSQL) share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from network_discovery.licensing.plans import features_for

__all__ = [
    "GRACE_S",
    "VALIDITY_S",
    "LicenseStatus",
    "error_status",
    "evaluate",
    "format_duration",
    "is_due",
    "plain_status",
]

VALIDITY_S = 24 * 3600
GRACE_S = 72 * 3600


@dataclass(frozen=True)
class LicenseStatus:
    """The license as the product sees it now.

    ``plan`` and ``features`` are what gates use (Community's in restricted mode, after
    expiry or on an error); ``licensed_plan`` is what the key was issued for.
    """

    plan: str
    status: str
    features: dict[str, bool | int]
    licensed_plan: str = "community"
    fingerprint: str = ""
    expires: date | None = None
    devices_registered: int | None = None
    devices_allowed: int | None = None
    last_validated: datetime | None = None
    grace_hours_left: float | None = None
    message: str = ""
    error: Exception | None = field(default=None, compare=False, repr=False)

    @property
    def warning(self) -> str | None:
        if self.status == "grace" and self.grace_hours_left is not None:
            left = format_duration(self.grace_hours_left * 3600)
            return f"WARNING — Offline grace period active ({left} remaining)"
        if self.status == "restricted":
            return (
                "WARNING — Offline grace period expired: restricted mode (Community features"
                " only) until the license server is reached"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "licensed_plan": self.licensed_plan,
            "status": self.status,
            "features": dict(self.features),
            "expires": self.expires.isoformat() if self.expires else None,
            "fingerprint": self.fingerprint,
            "devices_registered": self.devices_registered,
            "devices_allowed": self.devices_allowed,
            "last_validated": self.last_validated.isoformat() if self.last_validated else None,
            "grace_hours_left": self.grace_hours_left,
            "message": self.message,
        }


def format_duration(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    return f"{minutes // 60}h {minutes % 60}m"


def is_due(last_success: float, now: float) -> bool:
    """Whether the 24 h validation window has passed (or the clock went backwards)."""
    age = now - last_success
    return age >= VALIDITY_S or age < -300


def plain_status(plan: str, status: str, fingerprint: str = "", message: str = "") -> LicenseStatus:
    return LicenseStatus(
        plan=plan,
        status=status,
        features=features_for(plan),
        licensed_plan=plan,
        fingerprint=fingerprint,
        message=message,
    )


def error_status(status: str, error: Exception, fingerprint: str = "") -> LicenseStatus:
    """Community features after a hard answer (not found, revoked, expired, device limit)."""
    return LicenseStatus(
        plan="community",
        status=status,
        features=features_for("community"),
        fingerprint=fingerprint,
        devices_registered=getattr(error, "registered", None),
        devices_allowed=getattr(error, "allowed", None),
        message=str(error),
        error=error,
    )


def evaluate(
    payload: dict[str, Any], last_success: float, now: float, *, message: str = ""
) -> LicenseStatus:
    """The status of a verified answer, ``now - last_success`` seconds after it was obtained."""
    licensed = str(payload["plan"])
    expires = date.fromisoformat(payload["expiration_date"])
    age = now - last_success
    common: dict[str, Any] = {
        "licensed_plan": licensed,
        "fingerprint": str(payload.get("fingerprint", "")),
        "expires": expires,
        "devices_registered": payload.get("devices_registered"),
        "devices_allowed": payload.get("devices_allowed"),
        "last_validated": datetime.fromtimestamp(last_success, UTC),
        "message": message,
    }
    granted: dict[str, bool | int] = dict(payload["features"])
    if expires < datetime.fromtimestamp(now, UTC).date():
        return LicenseStatus(
            plan="community", status="expired", features=features_for("community"), **common
        )
    if age < VALIDITY_S:
        return LicenseStatus(plan=licensed, status="active", features=granted, **common)
    if age < GRACE_S:
        left = round((GRACE_S - age) / 3600, 2)
        return LicenseStatus(
            plan=licensed, status="grace", features=granted, grace_hours_left=left, **common
        )
    return LicenseStatus(
        plan="community",
        status="restricted",
        features=features_for("community"),
        grace_hours_left=0.0,
        **common,
    )
