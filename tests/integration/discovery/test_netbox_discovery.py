"""`meshq discover` from a NetBox inventory source: the fake NetBox's devices have the FakeNOS
lab's loopback addresses as primary IPs, and are collected over real SSH."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from network_discovery.cli import cli
from network_discovery.ingest import load_path
from support.discovery_lab import ADDRESSES, PASSWORD, PASSWORD_ENV, USERNAME, Lab
from support.netbox_devices import NetBoxLab
from support.netbox_fake import running_netbox

TOKEN = "fedcba9876543210fedcba9876543210fedcba98"
PLATFORMS = {"core1": "arista-eos", "acc1": "cisco-ios", "acc2": "ios"}


def test_cli_discovers_the_devices_netbox_lists(
    ssh_lab: Lab, lab_env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MESHOPTIXIQ_LICENSE_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        f"credentials:\n  lab: {{username: {USERNAME}, password_env: {PASSWORD_ENV}}}\n"
        f"netbox:\n  credentials: lab\n  port: {ssh_lab.port}\n"
        "  filters: {site: hq, status: active}\n"
    )
    saved = tmp_path / "saved"
    with running_netbox(TOKEN) as netbox:
        lab = NetBoxLab(netbox)
        for name, address in ADDRESSES.items():
            role = "Core" if name == "core1" else "Access"
            lab.device(name, role=role, platform=PLATFORMS[name], address=f"{address}/8")
        lab.device("fw1", platform="fortinet-fortios", address="127.0.0.16/8")
        lab.device("br1", site="Branch", platform="cisco-ios", address="127.0.0.15/8")
        monkeypatch.setenv("NETBOX_URL", netbox.base_url)
        monkeypatch.setenv("NETBOX_TOKEN", TOKEN)
        args = ["discover", "--inventory", str(inventory), "--timeout", "3", "--no-publish"]
        result = CliRunner().invoke(cli, [*args, "--save", str(saved)])
        assert netbox.violations == []
        assert not netbox.writes()
    assert result.exit_code == 0, result.output
    assert "4 devices in" in result.output
    assert "3 ok" in result.output and "1 unsupported_platform" in result.output
    assert "127.0.0.15" not in result.output  # the Branch site's device was filtered out
    assert PASSWORD not in result.output and TOKEN not in result.output
    meta = yaml.safe_load((saved / "core1" / "meta.yaml").read_text())
    assert (meta["platform"], meta["site"], meta["role"]) == ("arista_eos", "HQ", "core")
    snapshot, problems = load_path(saved)
    assert problems == [] and {d.id for d in snapshot.devices} == {"core1", "acc1", "acc2"}
    assert {d.site for d in snapshot.devices} == {"HQ"}
