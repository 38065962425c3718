"""Junos "show ethernet-switching interface": access, trunk, native and voice VLANs, in the
ELS layout of current releases and the legacy one."""

from pathlib import Path

from network_discovery.parsers import find_command, parse_device

DATA = Path(__file__).resolve().parent / "data"

VLANS = """\

Routing instance        VLAN name             Tag          Interfaces
default-switch          USERS                 10
                                                           ge-0/0/2.0*
                                                           ae0.0*
default-switch          VOICE                 20
                                                           ge-0/0/2.0*
                                                           ae0.0*
default-switch          MGMT                  30
                                                           ae0.0*
default-switch          default               1
                                                           ge-0/0/9.0
"""

ELS = (DATA / "junos_ethernet-switching_interface_els.txt").read_text()

# An older release: no MAC+IP column, a one-line flags legend.
ELS_OLDER = (DATA / "junos_ethernet-switching_interface_els_older.txt").read_text()

LEGACY = """\
Interface    State  VLAN members        Tag   Tagging  Blocking

ge-0/0/2.0   up     USERS               10    untagged unblocked
ge-0/0/3.0   up     default                            blocked by STP
ge-0/0/14.0  up     USERS               10    tagged   unblocked
                    VOICE               20    tagged   unblocked
"""


def _parse(tmp_path, output):
    files = {}
    for name, content in (
        ("show_vlans.txt", VLANS),
        ("show_ethernet-switching_interface.txt", output),
    ):
        (tmp_path / name).write_text(content)
        files[name] = tmp_path / name
    facts, report = parse_device("ex-2f", "juniper_junos", files)
    assert report.issues == [], report.summary()
    return {i.name: i for i in facts.interfaces}


def test_command_names():
    spec = find_command("juniper_junos", "show_ethernet-switching_interface")
    assert spec is find_command("juniper_junos", "show_ethernet-switching_interfaces")
    assert str(spec.template) == "own:juniper_junos_show_ethernet-switching_interface.textfsm"


def test_els_trunk_with_native_access_with_voice(tmp_path):
    ports = _parse(tmp_path, ELS)
    ae0 = ports["ae0"]
    assert (ae0.mode, ae0.trunk_vlans, ae0.native_vlan) == ("trunk", (10, 20), 30)
    ge2 = ports["ge-0/0/2"]
    assert (ge2.mode, ge2.access_vlan, ge2.voice_vlan, ge2.trunk_vlans) == ("access", 10, 20, ())
    assert (ports["ge-0/0/9"].mode, ports["ge-0/0/9"].access_vlan) == ("access", 1)


def test_els_older_layout(tmp_path):
    ports = _parse(tmp_path, ELS_OLDER)
    assert (ports["ge-0/0/20"].mode, ports["ge-0/0/20"].access_vlan) == ("access", 10)


def test_legacy_layout(tmp_path):
    ports = _parse(tmp_path, LEGACY)
    assert (ports["ge-0/0/2"].mode, ports["ge-0/0/2"].access_vlan) == ("access", 10)
    # no tag printed: taken from the VLAN table
    assert (ports["ge-0/0/3"].mode, ports["ge-0/0/3"].access_vlan) == ("access", 1)
    ge14 = ports["ge-0/0/14"]
    assert (ge14.mode, ge14.trunk_vlans, ge14.native_vlan) == ("trunk", (10, 20), None)


def test_unexpected_line_is_reported(tmp_path):
    path = tmp_path / "show_ethernet-switching_interface.txt"
    path.write_text("error: the ethernet-switching subsystem is not running\n")
    facts, report = parse_device("ex-2f", "juniper_junos", {path.name: path})
    [error] = report.errors
    assert error.line == 1 and error.template.startswith("own:")
    assert "interfaces" not in {k.value for k in facts.kinds}
