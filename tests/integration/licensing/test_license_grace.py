"""The verifier's cache and grace with the server down, on an injected clock."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from network_discovery.licensing.verifier import Verifier

pytestmark = pytest.mark.integration

H = 3600


def test_grace_then_restricted_then_restored(license_server, tmp_path: Path) -> None:
    key = license_server.issue("pro")["key"]
    t0 = time.time()
    now = [t0]

    def make() -> Verifier:
        return Verifier(
            key=key,
            url=license_server.url,
            public_key=license_server.public_pem,
            state_path=tmp_path / "license.state",
            clock=lambda: now[0],
            environ={},
            timeout=2.0,
        )

    assert make().status().status == "active"
    license_server.proc.stop()
    seen = {}
    for hours in (23, 25, 71, 73):
        now[0] = t0 + hours * H
        seen[hours] = make().status()
    assert [seen[h].status for h in (23, 25, 71, 73)] == ["active", "grace", "grace", "restricted"]
    assert seen[23].warning is None
    assert seen[25].plan == "pro" and seen[25].features["api_access"] is True
    assert "47h" in (seen[25].warning or "") and "1h" in (seen[71].warning or "")
    assert seen[73].plan == "community" and seen[73].features["api_access"] is False
    # the server is back, living at the same (moved) time: the next check restores everything
    license_server.restart(MESHQ_LICENSE_CLOCK_OFFSET_S=str(73 * H))
    restored = make().status()
    assert (restored.plan, restored.status) == ("pro", "active")


def test_tampered_state_file_leads_to_revalidation(license_server, tmp_path: Path) -> None:
    key = license_server.issue("pro")["key"]
    path = tmp_path / "license.state"
    v = Verifier(
        key=key,
        url=license_server.url,
        public_key=license_server.public_pem,
        state_path=path,
        environ={},
    )
    assert v.status().status == "active"
    assert path.stat().st_mode & 0o777 == 0o600
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0xFF
    path.write_bytes(bytes(blob))
    license_server.proc.stop()
    status = v.status()  # the tampered file is discarded, validation fails: nothing trusted
    assert (status.plan, status.status) == ("community", "unverified")
    assert not path.exists()
    license_server.restart()
    assert v.status().status == "active" and path.exists()


def test_a_file_from_another_key_is_not_trusted(license_server, tmp_path: Path) -> None:
    path = tmp_path / "license.state"
    first = license_server.issue("enterprise")["key"]
    Verifier(
        key=first,
        url=license_server.url,
        public_key=license_server.public_pem,
        state_path=path,
        environ={},
    ).status()
    license_server.proc.stop()
    other = Verifier(
        key="mq-pro-" + "0" * 40,
        url=license_server.url,
        public_key=license_server.public_pem,
        state_path=path,
        environ={},
        timeout=2.0,
    )
    assert other.status().plan == "community"
