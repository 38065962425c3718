"""A device folder without meta.yaml: the platform is what its outputs say it runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from network_discovery.parsers import parse_directory
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
