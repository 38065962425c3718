"""Live discovery over SSH against FakeNOS devices on loopback (real SSH, real asyncssh)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner
from meshq_graph_engine.derive import derive_all
from network_discovery.cli import cli
from network_discovery.discovery import (
    Credentials,
    DeviceLimitError,
    DeviceResult,
    DeviceStatus,
    DiscoveryOptions,
    SecretRef,
    Target,
    build_snapshot,
    collect_ssh,
    discover,
    parse_networks,
)
from support.discovery_lab import (
    ADDRESSES,
    PASSWORD,
    PASSWORD_ENV,
    SILENT,
    USERNAME,
    WRONG_CREDS,
    Lab,
    write_inventory,
)

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
CREDS = Credentials(name="lab", username=USERNAME, password=SecretRef(env=PASSWORD_ENV))


def _recording(dialled: list[Target], timeout: float = 3.0):
    """The real SSH collector, noting every target it is handed."""

    def collect(target: Target) -> DeviceResult:
        dialled.append(target)
        return collect_ssh(target, timeout=timeout)

    return collect


def _run(targets: list[Target], options: DiscoveryOptions, dialled: list[Target]):
    return asyncio.run(discover(targets, options, _recording(dialled)))


def _target(name: str, address: str, platform: str, lab: Lab) -> Target:
    return Target(address=address, platform=platform, name=name, port=lab.port, credentials=CREDS)


def _seed(lab: Lab) -> Target:
    return Target(
        address=ADDRESSES["core1"], platform="arista_eos", port=lab.port, credentials=CREDS
    )


def _crawl(lab: Lab, **overrides) -> DiscoveryOptions:
    """Crawl options for the lab: loopback allowed, two hops, the lab's port and password."""
    settings = {
        "timeout": 3,
        "retries": 0,
        "max_hops": 2,
        "allow": parse_networks(["127.0.0.0/8"]),
        "port": lab.port,
        "credentials": CREDS,
        **overrides,
    }
    return DiscoveryOptions(**settings)


def _link_pairs(snapshot) -> set[tuple[str, str]]:
    links = derive_all(snapshot).links
    return {tuple(sorted(f"{e.device}:{e.interface}" for e in (link.a, link.b))) for link in links}


def test_inventory_run_statuses_snapshot_and_no_secret_anywhere(
    ssh_lab: Lab, lab_env, capsys, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    targets = [
        _target("core1", ADDRESSES["core1"], "arista_eos", ssh_lab),
        _target("acc1", ADDRESSES["acc1"], "cisco_ios", ssh_lab),
        _target("acc2", ADDRESSES["acc2"], "cisco_ios", ssh_lab),
        _target(WRONG_CREDS[0], WRONG_CREDS[1], "cisco_ios", ssh_lab),
        _target("silent", SILENT, "cisco_ios", ssh_lab),
        Target(
            address="127.0.0.16",
            platform="cisco_ios",
            name="nobody",
            port=ssh_lab.port,
            credentials=CREDS,
        ),
        Target(address="127.0.0.17", platform="vyos", name="odd", credentials=CREDS),
    ]
    dialled: list[Target] = []
    options = DiscoveryOptions(concurrency=4, timeout=3, retries=1, retry_delay=0.1)
    with structlog.testing.capture_logs() as logs:
        summary = _run(targets, options, dialled)
    status = {r.target.label: r.status for r in summary.results}
    assert status == {
        "core1": DeviceStatus.OK,
        "acc1": DeviceStatus.OK,
        "acc2": DeviceStatus.OK,
        "acc3": DeviceStatus.AUTH_FAILED,
        "silent": DeviceStatus.TIMED_OUT,
        "nobody": DeviceStatus.UNREACHABLE,
        "odd": DeviceStatus.UNSUPPORTED_PLATFORM,
    }
    attempts = {r.target.label: r.attempts for r in summary.results}
    assert attempts["silent"] == 2 and attempts["nobody"] == 2  # one retry each
    assert attempts["acc3"] == 1 and attempts["odd"] == 0  # auth failures are not retried

    snapshot = build_snapshot(summary)
    assert snapshot is not None
    assert {d.hostname for d in snapshot.devices} == {"core1", "acc1", "acc2"}
    assert _link_pairs(snapshot) == {
        ("acc1:GigabitEthernet1/0/49", "core1:Ethernet1"),
        ("acc2:GigabitEthernet1/0/49", "core1:Ethernet2"),
        ("acc1:GigabitEthernet1/0/50", "acc3:GigabitEthernet1/0/49"),
        ("core1:Ethernet3", "ext-rtr1:ge-0/0/0"),
    }
    core = next(r for r in summary.results if r.target.label == "core1")
    assert core.connect_s > 0 and core.commands_s > 0 and core.parse_s > 0
    # the commands EOS does not answer here are noted, not parsed
    assert "show interfaces" in core.unavailable
    # EOS answered "| json" where we have a mapping; IOS has none, so text throughout
    assert set(core.json_outputs) == {
        "show version",
        "show lldp neighbors detail",
        "show interfaces status",
        "show ip interface brief",
        "show ip arp",
        "show mac address-table",
        "show vlan",
    }
    assert not core.outputs
    acc1 = next(r for r in summary.results if r.target.label == "acc1")
    assert acc1.outputs and not acc1.json_outputs

    everything = (
        snapshot.model_dump_json()
        + json.dumps(logs, default=str)
        + caplog.text
        + "".join(capsys.readouterr())
        + "\n".join(summary.lines())
    )
    assert PASSWORD not in everything


def test_seed_crawl_follows_lldp_within_allowed_networks(ssh_lab: Lab, lab_env) -> None:
    dialled: list[Target] = []
    summary = _run([_seed(ssh_lab)], _crawl(ssh_lab), dialled)
    by_name = {r.hostname or r.target.label: r for r in summary.results}
    assert {n: r.status for n, r in by_name.items()} == {
        "core1": DeviceStatus.OK,
        "acc1": DeviceStatus.OK,
        "acc2": DeviceStatus.OK,
        "acc3": DeviceStatus.AUTH_FAILED,  # two hops away, through acc1
    }
    # platforms came from what the neighbours advertise
    assert by_name["acc1"].target.platform == "cisco_ios"
    assert (by_name["acc3"].target.hop, by_name["acc3"].target.via) == (2, "acc1")
    # the router advertising 10.99.0.1 is listed, never dialled
    assert all(ipaddress.ip_address(t.address) in LOOPBACK for t in dialled)
    assert [(s.address, s.neighbour, s.reason) for s in summary.skipped] == [
        ("10.99.0.1", "ext-rtr1", "outside the allowed networks")
    ]
    snapshot = build_snapshot(summary)
    assert snapshot is not None and {d.id for d in snapshot.devices} == {"core1", "acc1", "acc2"}


def test_crawl_stops_at_the_hop_limit_and_narrow_networks(ssh_lab: Lab, lab_env) -> None:
    dialled: list[Target] = []
    summary = _run([_seed(ssh_lab)], _crawl(ssh_lab, max_hops=1), dialled)
    assert {t.address for t in dialled} == {"127.0.0.11", "127.0.0.12", "127.0.0.13"}
    assert ("127.0.0.14", "beyond 1 hop(s)") in {(s.address, s.reason) for s in summary.skipped}

    # acc2 runs at 127.0.0.13, but only .11 and .12 are allowed: it is never dialled
    dialled.clear()
    narrow = parse_networks(["127.0.0.11/32", "127.0.0.12/32"])
    summary = _run([_seed(ssh_lab)], _crawl(ssh_lab, max_hops=3, allow=narrow), dialled)
    assert {t.address for t in dialled} == {"127.0.0.11", "127.0.0.12"}
    reasons = {s.address: s.reason for s in summary.skipped}
    assert reasons["127.0.0.13"] == reasons["127.0.0.14"] == "outside the allowed networks"


def test_plan_limit_applies_before_anything_is_dialled(ssh_lab: Lab, lab_env) -> None:
    targets = [
        Target(address=f"127.0.1.{i}", platform="cisco_ios", name=f"sw{i}", credentials=CREDS)
        for i in range(1, 52)
    ]
    dialled: list[Target] = []
    options = DiscoveryOptions(device_limit=50, plan="community")
    with pytest.raises(DeviceLimitError, match="51 devices to discover; the community plan"):
        _run(targets, options, dialled)
    assert dialled == []

    # a crawl stops dialling new neighbours at the limit
    summary = _run([_seed(ssh_lab)], _crawl(ssh_lab, device_limit=2, plan="community"), dialled)
    assert len(dialled) == 2
    assert any("community plan's limit of 2" in s.reason for s in summary.skipped)


@pytest.fixture
def community(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No license key on this machine: the Community plan (50 network devices)."""
    monkeypatch.delenv("MESHOPTIXIQ_LICENSE_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_cli_discover_inventory_saves_outputs_that_ingest_reads(
    ssh_lab: Lab, lab_env, community, tmp_path: Path
) -> None:
    from network_discovery.ingest import load_path

    saved = tmp_path / "saved"
    result = CliRunner().invoke(
        cli,
        [
            "discover",
            "--inventory",
            str(write_inventory(tmp_path, ssh_lab.port)),
            "--timeout",
            "3",
            "--no-publish",
            "--save",
            str(saved),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3 devices in" in result.output and "3 ok" in result.output
    assert "saved the outputs of 3 devices" in result.output
    assert PASSWORD not in result.output
    snapshot, problems = load_path(saved)
    assert problems == [] and {d.id for d in snapshot.devices} == {"core1", "acc1", "acc2"}
    assert (saved / "core1" / "show_lldp_neighbors_detail.json").exists()  # as EOS sent it


def test_cli_discover_errors_are_one_line(ssh_lab: Lab, lab_env, community, tmp_path: Path) -> None:
    runner = CliRunner()
    cases = [
        (["discover", "--seed", "127.0.0.11", "--no-publish"], "--seed needs --allow CIDR"),
        (
            ["discover", "--seed", "10.1.1.1", "--allow", "127.0.0.0/8", "--no-publish"],
            "seed 10.1.1.1 is not an IP address inside --allow",
        ),
        (["discover", "--no-publish"], "give --inventory FILE or one or more --seed HOST"),
        (["discover", "--seed", "127.0.0.11", "--allow", "127.0.0.300/8"], "--allow:"),
    ]
    clear = tmp_path / "clear.yaml"
    clear.write_text(
        "credentials:\n  lab: {username: u, password: hunter2}\n"
        "hosts:\n  a: {address: 127.0.0.11, platform: arista_eos, credentials: lab}\n"
    )
    cases.append((["discover", "--inventory", str(clear)], "'password' is written in clear text"))
    big = tmp_path / "big.yaml"
    big.write_text(
        "hosts:\n"
        + "".join(f"  sw{i}: {{address: 127.0.1.{i}, platform: cisco_ios}}\n" for i in range(1, 52))
    )
    cases.append(
        (
            ["discover", "--inventory", str(big), "--no-publish"],
            "51 devices to discover; the community plan allows 50",
        )
    )
    for args, message in cases:
        result = runner.invoke(cli, args)
        assert result.exit_code != 0, (args, result.output)
        lines = [ln for ln in result.output.splitlines() if ln.strip() and "discovering" not in ln]
        assert len(lines) == 1 and message in lines[0], (args, result.output)
        assert "hunter2" not in result.output
