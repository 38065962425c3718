"""``meshq license info [--refresh]`` and the admin commands against the real server."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from network_discovery.cli import cli

ADMIN_TOKEN = "test-admin-token-0123456789"  # as in conftest.py

pytestmark = pytest.mark.integration


def run(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def test_info_in_the_guides_layout_and_device_limit(license_server, tmp_path: Path) -> None:
    admin = {
        "MESHOPTIXIQ_LICENSE_URL": license_server.url,
        "MESHOPTIXIQ_LICENSE_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    expires = (date.today() + timedelta(days=100)).isoformat()
    issued = run(["license", "issue", "--plan", "community", "--expires", expires], admin)
    assert issued.exit_code == 0, issued.output
    key = issued.output.strip()
    env = {
        "HOME": str(tmp_path / "a"),
        "MESHOPTIXIQ_LICENSE_KEY": key,
        "MESHOPTIXIQ_LICENSE_URL": license_server.url,
        "MESHOPTIXIQ_LICENSE_PUBLIC_KEY": license_server.public_pem,
    }
    out = run(["license", "info", "--refresh"], env)
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("Plan: ")) :]
    assert lines[0] == "Plan: Community" and lines[1] == "Status: Active"
    assert lines[2] == f"Expires: {expires} (100 days remaining)"
    assert lines[3].startswith("Device: ") and lines[3].endswith("(1/1 registered)")
    assert "Feature Flags:" in lines and "Device Limits:" in lines
    assert any(line.split() == ["api_access", "false"] for line in lines)
    assert any(line.split() == ["max_network_devices", "50"] for line in lines)
    # another machine (another HOME is not enough: another fingerprint) gets the 409 line
    other = run(["license", "info"], {**env, "HOME": str(tmp_path / "b")})
    assert other.exit_code == 0  # same host facts: the same device, still one seat
    listed = run(["license", "devices", key], admin)
    assert listed.exit_code == 0 and "1/1 registered" in listed.output
    fp = listed.output.splitlines()[1].split()[0]
    assert run(["license", "deregister", key, fp], admin).exit_code == 0
    assert "0/1 registered" in run(["license", "devices", key], admin).output
    assert run(["license", "revoke", key], admin).exit_code == 0
    revoked = run(["license", "info", "--refresh"], env)
    assert revoked.exit_code == 1 and "invalid" in revoked.output
