"""A device folder without meta.yaml: the platform is what its outputs say it runs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from network_discovery.parsers import parse_directory
from network_discovery.parsers._session import split_session
from support import real_labs


def test_the_recorded_labs_read_the_same_without_meta_yaml(tmp_path: Path) -> None:
    for lab in ("mixed", "junos"):
        copy = tmp_path / lab
        shutil.copytree(real_labs.LABS / lab, copy)
        for meta in copy.glob("*/meta.yaml"):
            meta.unlink()
        with_meta, _ = parse_directory(real_labs.LABS / lab)
        without, report = parse_directory(copy)
        platforms = {d.id: d.platform for d in without.devices if d.managed}
        assert platforms == real_labs.devices(lab)
        assert without.counts() == with_meta.counts()
        notes = [i for i in report.warnings if i.file.endswith("meta.yaml")]
        assert len(notes) == len(platforms)
        assert all("taken from what the outputs print" in i.message for i in notes)


def test_a_folder_whose_outputs_do_not_tell_is_an_error(tmp_path: Path) -> None:
    mute = tmp_path / "lab" / "sw1"
    mute.mkdir(parents=True)
    (mute / "show clock.txt").write_text("10:01:02 UTC Sun Dec 6 2026\n")
    mixed = tmp_path / "lab" / "sw2"
    mixed.mkdir()
    (mixed / "show version.txt").write_text("Cisco IOS Software, IOSv\n")
    (mixed / "show version.json").write_text('{"modelName": "vEOS", "internalVersion": "4.2"}')
    snapshot, report = parse_directory(tmp_path / "lab")
    assert snapshot.devices == ()
    messages = sorted(i.message for i in report.errors)
    assert messages == [
        "missing, and no output tells: write one that names the platform",
        "missing, and the outputs point to arista_eos, cisco_ios: write one that names the "
        "platform",
    ]


REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
SET_FILE = "show_configuration_|_display_set.txt"


def _junos_curly() -> str:
    """The configuration a vQFX printed in the curly form (``show configuration``)."""
    log = (REAL / "suzieq" / "junos" / "leaf01" / "session.log").read_text()
    return next(
        i.output for i in split_session(log) if i.command.startswith("show configuration |")
    )


@pytest.mark.parametrize(
    ("platform", "name", "text"),
    [
        (
            "cisco_nxos",
            "show_running-config.txt",
            lambda: (
                REAL / "nxos/configs/nxos_static_route/D1/show_running-config.txt"
            ).read_text(),
        ),
        (
            "arista_eos",
            "show_running-config.txt",
            lambda: (REAL / "eos/configs/eos_ospf_bgp/np02/show_running-config.txt").read_text(),
        ),
        (
            "juniper_junos",
            "show_configuration_|_display_set.txt",
            lambda: (REAL / "junos/configs/junos_static_route_defaults/r1" / SET_FILE).read_text(),
        ),
        ("juniper_junos", "show configuration.txt", _junos_curly),
        (
            "cisco_ios",
            "show running-config.txt",
            lambda: (REAL / "ios/configs/iosxe1/show running-config.txt").read_text(),
        ),
    ],
)
def test_a_configuration_alone_tells_the_platform(
    tmp_path: Path, platform: str, name: str, text: Callable[[], str]
) -> None:
    device = tmp_path / "lab" / "r1"
    device.mkdir(parents=True)
    (device / name).write_text(text())
    snapshot, report = parse_directory(tmp_path / "lab")
    assert [d.platform for d in snapshot.devices if d.managed] == [platform], report.summary()
    assert [i.message for i in report.errors] == []
    scope = next(s for s in snapshot.scope if s.device == "r1")
    assert {"interfaces", "ip_addresses", "routes"} <= set(scope.facts)
