"""Live discovery keeps the running configuration it collects: an IOS device on FakeNOS over
SSH answers ``show running-config`` (a real capture) in privileged mode, and the snapshot the
run builds carries that text for the device, its lines where the device printed them. Without
the enable secret the command is refused at the user prompt and no text is made up."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from meshq_runtime.embedded import free_port
from network_discovery.discovery import (
    Credentials,
    DiscoveryOptions,
    SecretRef,
    Target,
    build_snapshot,
    collect_ssh,
    discover,
)
from support.discovery_lab import as_printed, outputs_of, serve

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEPT = FIXTURES / "real" / "ios" / "example-network" / "as2dept1" / "show running-config.txt"
USER, PASSWORD, ENABLE = "netops", "feed-pass-3141", "feed-enable-2718"
PASSWORD_ENV, ENABLE_ENV = "MESHQ_TEST_FEED_PASSWORD", "MESHQ_TEST_FEED_ENABLE"
ADDRESS = "127.0.4.61"


def _discover(port: int, enable: bool) -> tuple[Any, Any]:
    creds = Credentials(
        name="feed",
        username=USER,
        password=SecretRef(env=PASSWORD_ENV),
        secret=SecretRef(env=ENABLE_ENV) if enable else None,
    )
    target = Target(
        address=ADDRESS, platform="cisco_ios", name="acc-feed", port=port, credentials=creds
    )
    summary = asyncio.run(
        discover(
            [target],
            DiscoveryOptions(timeout=5.0, retries=0),
            lambda t: collect_ssh(t, timeout=5.0),
        )
    )
    return summary, build_snapshot(summary, snapshot_id=f"live-{int(enable)}")


def test_live_discovery_keeps_the_running_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv(ENABLE_ENV, ENABLE)
    platform, outputs = outputs_of(FIXTURES / "cli" / "lab1" / "lab-acc1", tmp_path / "none")
    outputs["show running-config"] = DEPT.read_text()
    port = free_port()
    host = {
        "name": "acc-feed",
        "address": ADDRESS,
        "port": port,
        "platform": platform,
        "username": USER,
        "password": PASSWORD,
        "outputs": outputs,
        "enable_secret": ENABLE,
        "privileged": ["show running-config"],
    }
    with serve({"hosts": [host]}, tmp_path):
        _, snapshot = _discover(port, enable=True)
        plain, without = _discover(port, enable=False)
    (config,) = snapshot.configs
    assert config.device == "acc-feed" and config.source == "ssh://acc-feed/show running-config"
    assert config.text.rstrip("\n") == as_printed(DEPT.read_text())
    assert config.text.splitlines()[51] == "ip ssh version 2"  # line 52, as in the capture
    assert "show running-config" in plain.results[0].unavailable
    assert without is not None and without.devices and without.configs == ()
