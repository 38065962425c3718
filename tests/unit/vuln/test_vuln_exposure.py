"""Each lab device's exposure from its findings against the real advisories of
tests/fixtures/vuln, worked out by hand from the scores and verdicts in its README."""

from __future__ import annotations

import pytest
from network_discovery.vuln.exposure import Exposure, exposure_by_device
from network_discovery.vuln.match import match_devices
from unit.vuln.test_vuln_match import advisories, lab_devices

# (score, affected, affected if configured, exploited, max CVSS)
EXPECTED = {
    # CVE-2023-20198 affected, 10.0, exploited (10 x 1.5, capped at 10); CVE-2018-0171 if
    # configured, 9.8 (4.9)
    "iosxe1": (10.0, 1, 1, 1, 10.0),
    # both only if configured: max(10.0 x 0.5 x 1.5 = 7.5, 9.8 x 0.5 = 4.9)
    "iosxe164-d1": (7.5, 0, 2, 1, 10.0),
    # CVE-2021-1227 if configured: 8.1 x 0.5
    "nxos92-nxos1": (4.05, 0, 1, 0, 8.1),
    # CVE-2021-1227 with NX-API off: weighs nothing
    "d1_nxos": (0.0, 0, 0, 0, None),
    # CVE-2023-24509 if configured: 7.8 x 0.5
    "np02": (3.9, 0, 1, 0, 7.8),
}


@pytest.fixture(scope="module")
def exposure() -> dict[str, Exposure]:
    return exposure_by_device(match_devices(list(lab_devices().values()), advisories()))


@pytest.mark.parametrize("device", sorted(EXPECTED))
def test_lab_device_exposure(exposure: dict[str, Exposure], device: str) -> None:
    found = exposure[device]
    assert (
        found.score,
        found.affected,
        found.affected_if_configured,
        found.exploited,
        found.max_cvss,
    ) == EXPECTED[device]


def test_devices_without_findings_have_no_entry(exposure: dict[str, Exposure]) -> None:
    assert set(exposure) == set(EXPECTED) | {f"d{i}_nxos" for i in range(2, 7)}
