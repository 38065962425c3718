"""The SSH collector's sessions against FakeNOS devices on loopback: every platform's prompt
and paging, a banner that looks like a prompt, privileged mode, devices that hang, refused
logins, and a hundred sessions in flight at once."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
import structlog
from meshq_runtime.embedded import free_port
from network_discovery.discovery import (
    Credentials,
    DeviceStatus,
    DiscoveryOptions,
    SecretRef,
    Target,
    collect_ssh,
    discover,
)
from network_discovery.discovery.plan import JSON_PIPES, commands_for
from support.discovery_lab import Lab, as_printed, outputs_of, peak_sessions, serve

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
LAB1 = FIXTURES / "cli" / "lab1"
JSON = {
    "lab-core1": FIXTURES / "discovery" / "nxos-json" / "lab-core1",
    "lab-edge1": FIXTURES / "discovery" / "junos-json" / "lab-edge1",
}
USER, PASSWORD, ENABLE = "netops", "session-pass-1618", "enable-secret-2718"
PASSWORD_ENV, ENABLE_ENV = "MESHQ_TEST_SESSION_PASSWORD", "MESHQ_TEST_SESSION_ENABLE"
CREDS = Credentials(name="lab", username=USER, password=SecretRef(env=PASSWORD_ENV))
JUNOS_PROMPT = "netops@{base_prompt}> "
CONTEXT = "\n\n{master:0}"  # what a Junos virtual chassis prints after every command
RUNNING_CONFIG = "hostname lab-priv\n!\ninterface Vlan10\n ip address 10.10.0.9 255.255.255.0\n!"

#: name -> (address, fixture folder, the host's behaviour in the lab)
HOSTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "lab-acc1": ("127.0.4.1", "lab-acc1", {}),
    "lab-core1": ("127.0.4.2", "lab-core1", {}),
    "lab-edge1": ("127.0.4.3", "lab-edge1", {"prompt": JUNOS_PROMPT}),
    "lab-leaf1": ("127.0.4.4", "lab-leaf1", {}),
    "pager-on": ("127.0.4.5", "lab-acc1", {"paging": "on"}),
    "pager-always": ("127.0.4.6", "lab-acc2", {"paging": "always"}),
    "pager-junos": ("127.0.4.7", "lab-edge1", {"paging": "always", "prompt": JUNOS_PROMPT}),
    "decoy": (
        "127.0.4.8",
        "lab-leaf1",
        {"banner": "Authorised access only\nlab-decoy#", "banner_pause": 0.5},
    ),
    "priv": (
        "127.0.4.9",
        "lab-acc1",
        {"enable_secret": ENABLE, "privileged": ["show running-config"]},
    ),
    "hang": ("127.0.4.10", "lab-acc1", {"hang": ["show inventory"]}),
    "mute": ("127.0.4.11", "lab-acc1", {"banner": "Welcome", "banner_pause": 60}),
}


def _outputs(name: str) -> tuple[str, dict[str, str]]:
    _, folder, behaviour = HOSTS[name]
    platform, outputs = outputs_of(LAB1 / folder, JSON.get(folder, LAB1 / "none"))
    if platform == "juniper_junos":
        outputs = {c: t.rstrip("\n") + CONTEXT for c, t in outputs.items()}
    if "privileged" in behaviour:
        outputs["show running-config"] = RUNNING_CONFIG
    return platform, outputs


def _host(name: str, port: int, **extra: Any) -> dict[str, Any]:
    address, _, behaviour = HOSTS[name]
    platform, outputs = _outputs(name)
    return {
        "name": name,
        "address": address,
        "port": port,
        "platform": platform,
        "username": USER,
        "password": PASSWORD,
        "outputs": outputs,
        "record": True,
        **behaviour,
        **extra,
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("sessions-lab")
    with serve({"hosts": [_host(n, port) for n in HOSTS]}, workdir) as proc:
        yield Lab(port=port, proc=proc, workdir=workdir)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv(ENABLE_ENV, ENABLE)


def _target(name: str, lab: Lab, creds: Credentials = CREDS) -> Target:
    address = HOSTS[name][0]
    platform, _ = _outputs(name)
    return Target(address=address, platform=platform, name=name, port=lab.port, credentials=creds)


def _collect(targets: list[Target], timeout: float = 5.0, **options: Any):
    settings = {"timeout": timeout, "retries": 0, **options}
    return asyncio.run(
        discover(targets, DiscoveryOptions(**settings), lambda t: collect_ssh(t, timeout=timeout))
    )


def _expected(name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(text outputs, JSON outputs) the collector must return for host ``name``: what the
    fixture holds, as printed (a Junos context line dropped, as netmiko did)."""
    platform, outputs = _outputs(name)
    pipe = JSON_PIPES.get(platform)
    text, as_json = {}, {}
    for command in commands_for(platform):
        if pipe and f"{command} {pipe}" in outputs:
            as_json[command] = as_printed(outputs[f"{command} {pipe}"])
        elif command in outputs:
            text[command] = as_printed(outputs[command])
    if platform == "juniper_junos":
        suffix = as_printed(CONTEXT)
        text = {c: t.removesuffix(suffix) + "\n" for c, t in text.items()}
        as_json = {c: t.removesuffix(suffix) + "\n" for c, t in as_json.items()}
    return text, as_json


def test_every_platform_answers_what_its_device_printed(lab: Lab, env) -> None:
    names = ["lab-acc1", "lab-core1", "lab-edge1", "lab-leaf1"]
    summary = _collect([_target(n, lab) for n in names])
    by_name = {r.target.name: r for r in summary.results}
    for name in names:
        result = by_name[name]
        assert result.status is DeviceStatus.OK, (name, result.detail, result.issues)
        text, as_json = _expected(name)
        assert result.json_outputs == as_json, name
        assert {c: result.outputs[c] for c in text} == text, name
        # the commands the device does not know were noted, not parsed
        assert set(result.outputs) - set(text) == set(), name
        assert set(result.unavailable) == set(commands_for(result.target.platform or "")) - set(
            text
        ) - set(as_json), name
    # the name in the prompt, without Junos's "user@"
    assert {n: by_name[n].hostname for n in names} == {n: n for n in names}
    # the platform's width and paging commands came first
    assert lab.commands("lab-acc1")[:3] == [
        "terminal width 511",
        "terminal length 0",
        "show version",
    ]
    assert lab.commands("lab-edge1")[:4] == [
        "set cli screen-width 511",
        "set cli complete-on-space off",
        "set cli screen-length 0",
        "show version | display json",
    ]
    assert lab.commands("lab-core1")[:3] == [
        "terminal width 511",
        "terminal length 0",
        "show version | json",
    ]


async def _raw_first_page(lab: Lab, name: str) -> str:
    """What the device prints for ``show version`` in a bare session (no paging command)."""
    async with asyncssh.connect(
        HOSTS[name][0],
        lab.port,
        username=USER,
        password=PASSWORD,
        known_hosts=None,
        client_keys=None,
        agent_path=None,
        config=None,
    ) as conn:
        process = await conn.create_process(term_type="vt100")
        process.stdin.write("show version\n")
        seen = ""
        while "--More--" not in seen:
            seen += await asyncio.wait_for(process.stdout.read(4096), 5)
        process.close()
        return seen


def test_paging_is_turned_off_and_a_pager_that_stays_on_is_answered(lab: Lab, env) -> None:
    # the lab does page: a session that does not turn paging off stops at --More--
    first_page = asyncio.run(_raw_first_page(lab, "pager-always"))
    assert first_page.count("\n") < 40 and "--More--" in first_page

    summary = _collect([_target(n, lab) for n in ("pager-on", "pager-always", "pager-junos")])
    by_name = {r.target.name: r for r in summary.results}
    assert {n: r.status for n, r in by_name.items()} == dict.fromkeys(by_name, DeviceStatus.OK)
    for name, fixture in (("pager-on", "lab-acc1"), ("pager-always", "lab-acc2")):
        text, _ = _expected(name)
        assert {c: by_name[name].outputs[c] for c in text} == text, name
        assert not any("More" in t or "\x08" in t for t in by_name[name].outputs.values())
        assert len(text["show version"].splitlines()) > 24, fixture  # longer than a page
    junos_text, junos_json = _expected("pager-junos")
    assert by_name["pager-junos"].json_outputs == junos_json
    assert {c: by_name["pager-junos"].outputs[c] for c in junos_text} == junos_text
    # paging went off before the first command that prints anything
    assert lab.commands("pager-on")[:3] == [
        "terminal width 511",
        "terminal length 0",
        "show version",
    ]


def test_a_banner_line_that_looks_like_a_prompt_is_not_taken_for_one(lab: Lab, env) -> None:
    (result,) = _collect([_target("decoy", lab)]).results
    assert result.status is DeviceStatus.OK, result.detail
    assert result.hostname == "decoy"
    text, _ = _expected("decoy")
    assert {c: result.outputs[c] for c in text} == text


def test_privileged_mode_with_the_enable_secret(lab: Lab, env, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    with_secret = Credentials(
        name="priv",
        username=USER,
        password=SecretRef(env=PASSWORD_ENV),
        secret=SecretRef(env=ENABLE_ENV),
    )
    wrong_secret = Credentials(
        name="wrong",
        username=USER,
        password=SecretRef(env=PASSWORD_ENV),
        secret=SecretRef(env=PASSWORD_ENV),  # the login password is not the enable secret
    )
    with structlog.testing.capture_logs() as logs:
        enabled = _collect([_target("priv", lab, with_secret)]).results[0]
        refused = _collect([_target("priv", lab, wrong_secret)]).results[0]
        plain = _collect([_target("priv", lab)]).results[0]
    assert enabled.status is DeviceStatus.OK and enabled.detail == ""
    assert enabled.outputs["show running-config"] == as_printed(RUNNING_CONFIG)
    # a refused enable secret leaves the device collected at the user prompt, as without one
    for result in (refused, plain):
        assert result.status is DeviceStatus.OK
        assert "show running-config" in result.unavailable
        assert result.outputs["show version"] == enabled.outputs["show version"]
    assert refused.detail == "enable refused: collected at the user prompt"
    assert plain.detail == ""
    everything = (
        json.dumps(logs, default=str)
        + caplog.text
        + "".join(capsys.readouterr())
        + "\n".join(r.line() for r in (enabled, refused, plain))
    )
    assert ENABLE not in everything and PASSWORD not in everything


def test_a_device_that_hangs_times_out_and_the_others_go_on(lab: Lab, env) -> None:
    names = ["hang", "mute", "lab-acc1", "lab-core1", "lab-edge1", "lab-leaf1"]
    summary = _collect([_target(n, lab) for n in names], timeout=3, concurrency=3)
    by_name = {r.target.name: r for r in summary.results}
    assert (by_name["hang"].status, by_name["hang"].detail) == (
        DeviceStatus.TIMED_OUT,
        "timed out running 'show inventory'",
    )
    assert (by_name["mute"].status, by_name["mute"].detail) == (
        DeviceStatus.TIMED_OUT,
        "timed out waiting for the prompt",
    )
    # the other four shared the one slot left and were done before either timed out
    assert [r.target.name for r in summary.results][-2:] in (["hang", "mute"], ["mute", "hang"])
    for name in names[2:]:
        result = by_name[name]
        assert result.status is DeviceStatus.OK, (name, result.detail)
        assert result.connect_s + result.commands_s < 3


def test_refused_logins_and_unreadable_keys(
    lab: Lab, env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHQ_TEST_WRONG_PASSWORD", "not-the-password")
    wrong_password = Credentials(
        name="bad", username=USER, password=SecretRef(env="MESHQ_TEST_WRONG_PASSWORD")
    )
    wrong_user = Credentials(name="who", username="nobody", password=SecretRef(env=PASSWORD_ENV))
    no_key = Credentials(name="nokey", username=USER, key_file=tmp_path / "missing-key")
    not_a_key = tmp_path / "not-a-key"
    not_a_key.write_text("this is not a private key\n")
    bad_key = Credentials(name="badkey", username=USER, key_file=not_a_key)
    targets = [
        Target(
            address=HOSTS["lab-acc1"][0], platform="cisco_ios", name=n, port=lab.port, credentials=c
        )
        for n, c in (
            ("pw", wrong_password),
            ("user", wrong_user),
            ("nokey", no_key),
            ("badkey", bad_key),
        )
    ]
    summary = _collect(targets, retries=2, retry_delay=0.01)
    by_name = {r.target.name: r for r in summary.results}
    for name in ("pw", "user"):
        assert (by_name[name].status, by_name[name].detail, by_name[name].attempts) == (
            DeviceStatus.AUTH_FAILED,
            "authentication failed (check username and password)",
            1,  # never retried: it would lock accounts
        )
    for name, file in (("nokey", tmp_path / "missing-key"), ("badkey", not_a_key)):
        result = by_name[name]
        assert (result.status, result.attempts) == (DeviceStatus.ERROR, 0)
        assert result.detail.startswith(f"credentials {name!r}: cannot read key_file {file} (")


def _crowd(port: int, hosts: int, barrier: bool) -> dict[str, Any]:
    _, outputs = outputs_of(LAB1 / "lab-acc1")
    return {
        "hosts": [
            {
                "name": f"crowd{i}",
                "address": f"127.0.5.{i}",
                "port": port,
                "platform": "cisco_ios",
                "username": USER,
                "password": PASSWORD,
                "outputs": outputs,
                "barrier": barrier,
            }
            for i in range(1, hosts + 1)
        ]
    }


def _crowd_targets(port: int, hosts: int, per_host: int) -> list[Target]:
    return [
        Target(
            address=f"127.0.5.{1 + i % hosts}",
            platform="cisco_ios",
            name=f"crowd-{i:03d}",
            port=port,
            credentials=CREDS,
        )
        for i in range(hosts * per_host)
    ]


def test_a_hundred_and_ten_sessions_in_flight_at_once(env, tmp_path: Path) -> None:
    """Every session waits in ``show version`` until 110 sessions wait there together: the run
    only completes when the collector holds them all at once."""
    port = free_port()
    spec = {**_crowd(port, 11, barrier=True), "barrier": 110}
    with serve(spec, tmp_path):
        summary = _collect(_crowd_targets(port, 11, 10), timeout=60, concurrency=110)
    assert summary.counts() == {"ok": 110}
    assert summary.peak_in_flight == 110
    assert peak_sessions(tmp_path) >= 110


def test_concurrency_bounds_the_sessions_in_flight(env, tmp_path: Path) -> None:
    port = free_port()
    with serve(_crowd(port, 4, barrier=False), tmp_path):
        summary = _collect(_crowd_targets(port, 4, 10), timeout=30, concurrency=8)
    assert summary.counts() == {"ok": 40}
    assert summary.peak_in_flight == 8
    assert peak_sessions(tmp_path) <= 8
