"""The layout of ``meshq license info`` in grace, restricted and device-limit states."""

from __future__ import annotations

from datetime import UTC, datetime

from network_discovery.cli.license import render_info
from network_discovery.licensing.errors import DeviceLimitExceededError
from network_discovery.licensing.plans import features_for
from network_discovery.licensing.state import error_status, evaluate

NOW = datetime(2026, 2, 23, 9, 2, tzinfo=UTC)


def payload() -> dict:
    return {
        "plan": "pro",
        "features": features_for("pro"),
        "expiration_date": "2027-06-30",
        "fingerprint": "a3f8c1d2e4b5" + "0" * 52,
        "devices_registered": 1,
        "devices_allowed": 5,
    }


def test_grace_layout() -> None:
    last = NOW.timestamp() - (23 * 3600 + 48 * 60)
    status = evaluate(payload(), last - 24 * 3600, NOW.timestamp())
    text = render_info(status, now=NOW).splitlines()
    assert text[0] == "Plan: Pro"
    assert text[1].startswith("Status: WARNING — Offline grace period active (")
    assert text[2].startswith("Expires: 2027-06-30 (")
    assert text[3].startswith("Last validated: ") and text[3].endswith("UTC (47h 48m ago)")
    assert text[4] == "Device: a3f8c1d2e4b5... (1/5 registered)"


def test_restricted_and_device_limit() -> None:
    status = evaluate(payload(), NOW.timestamp() - 73 * 3600, NOW.timestamp())
    assert "RESTRICTED" in render_info(status, now=NOW)
    assert status.features["api_access"] is False
    limit = error_status(
        "device_limit", DeviceLimitExceededError(registered=5, allowed=5), "f" * 64
    )
    text = render_info(limit, now=NOW)
    assert "5/5 registered" in text and "deregister a device or upgrade" in text
