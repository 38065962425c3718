"""How config rules read a configuration: blocks, Junos statements with their line numbers,
banner bodies, and the answers that are unknown rather than guessed (no text, text cut at
its limit, a pattern past its time limit)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from meshq_graph_engine.compliance._config import MAX_BYTES, MAX_LINE, read_config
from meshq_graph_engine.compliance.evaluate import DeviceInput, evaluate_device
from meshq_graph_engine.compliance.packs import Pack, load_packs

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
JUNOS_CURLY = REAL / "junos/configs/sources/junos_static_route_defaults-r1.cfg"


def _pack(rule: dict, platforms: list[str] | None = None) -> Pack:
    return Pack.model_validate(
        {"pack": "t", "title": "T", "platforms": platforms or [], "rules": [rule]}
    )


def _one(pack: Pack, text: str | None, platform: str = "cisco_ios") -> dict:
    (result,) = evaluate_device(DeviceInput("dut", platform=platform, config=text), [pack])
    return result.as_row()


def _builtin(rule: str, platform: str, text: str) -> dict:
    """The built-in ``rule`` (alone) on ``text``."""
    packs = [
        p.model_copy(update={"rules": tuple(r for r in p.rules if r.id == rule)})
        for p in load_packs("")
    ]
    results = evaluate_device(DeviceInput("dut", platform=platform, config=text), packs)
    (found,) = results
    return found.as_row()


@pytest.mark.parametrize(
    ("rule", "platform", "text", "line"),
    [
        ("eos-ssh-on", "arista_eos", "management ssh\n   shutdown\n", 2),
        ("eos-no-telnet", "arista_eos", "management telnet\n   no shutdown\n", 2),
        ("nxos-ssh-on", "cisco_nxos", "hostname n1\nno feature ssh\n", 2),
        ("nxos-no-http", "cisco_nxos", "feature nxapi\nnxapi http port 80\n", 2),
        ("junos-no-http", "juniper_junos", "set system services web-management http\n", 1),
    ],
)
def test_rules_without_a_public_failing_configuration(
    rule: str, platform: str, text: str, line: int
) -> None:
    row = _builtin(rule, platform, text)
    assert row["status"] == "fail"
    assert row["evidence"][0]["line"] == line


def test_junos_curly_statements_keep_their_line_numbers() -> None:
    text = JUNOS_CURLY.read_text()
    config = read_config(text, "juniper_junos")
    lines = text.splitlines()
    assert config.style == "junos" and config.lines
    for entry in config.lines:
        last = entry.text.split()[-1].strip('"')
        assert last in lines[entry.number - 1], (entry, lines[entry.number - 1])
    # the same statements as in set form
    set_form = "\n".join(f"set {e.text}" for e in config.lines)
    assert [e.text for e in read_config(set_form, "juniper_junos").lines] == [
        e.text for e in config.lines
    ]


def test_a_banner_body_is_not_configuration() -> None:
    text = "hostname r1\nbanner motd ^C\nip http server\n^C\nline vty 0 4\n transport input ssh\n"
    assert _builtin("ios-no-http-server", "cisco_ios", text)["status"] == "pass"
    eos = "banner login\nmanagement telnet\n   no shutdown\nEOF\n"
    assert _builtin("eos-no-telnet", "arista_eos", eos)["status"] == "pass"


def test_block_rules_check_every_block() -> None:
    text = "line vty 0 4\n transport input ssh\nline vty 5 15\n transport input telnet ssh\n"
    row = _builtin("ios-vty-no-telnet", "cisco_ios", text)
    assert row["status"] == "fail"
    assert row["evidence"] == [
        {"line": 3, "text": "line vty 5 15", "why": "no line matching ^transport input (ssh|none)$"}
    ]
    assert _builtin("ios-vty-no-telnet", "cisco_ios", "hostname r1\n")["status"] == (
        "not_applicable"
    )


def test_no_configuration_text_is_unknown() -> None:
    assert _builtin_none("ios-ssh-v2-only") == "unknown"


def _builtin_none(rule: str) -> str:
    results = evaluate_device(DeviceInput("dut", platform="cisco_ios"), load_packs(""))
    return next(r.status for r in results if r.rule == rule)


def test_a_huge_configuration_is_cut_and_says_so() -> None:
    head = "hostname r1\nip ssh version 2\n"
    text = head + "interface Loopback0\n description x\n" * (MAX_BYTES // 30)
    config = read_config(text, "cisco_ios")
    assert config.truncated
    assert config.lines[-1].number < len(text.splitlines())
    # found before the cut: a pass; "absent" over a cut text, or "present" not found in
    # it: unknown, not a pass or a fail
    results = evaluate_device(DeviceInput("dut", "cisco_ios", config=text), load_packs(""))
    status = {r.rule: r.status for r in results}
    assert status["ios-ssh-v2-only"] == "pass"
    assert status["ios-no-http-server"] == "unknown"
    assert status["ios-ntp-server"] == "unknown"


def test_a_long_line_is_cut() -> None:
    config = read_config("description " + "x" * (MAX_LINE * 4) + "\n", "cisco_ios")
    assert len(config.lines[0].text) <= MAX_LINE


def test_a_runaway_pattern_stops_and_is_unknown() -> None:
    pack = _pack(
        {"id": "slow", "title": "Slow", "source": "config", "config": {"absent": "^(a|aa)+$"}}
    )
    started = time.monotonic()
    row = _one(pack, "a" * 40 + "b\n")
    assert time.monotonic() - started < 5
    assert row["status"] == "unknown" and "time limit" in row["message"]


def test_where_and_unless_pick_blocks() -> None:
    pack = _pack(
        {
            "id": "trunk-desc",
            "title": "Trunks are described",
            "source": "config",
            "config": {
                "block": "^interface ",
                "where": "^switchport mode trunk$",
                "unless": "^shutdown$",
                "present": "^description ",
            },
        }
    )
    text = (
        "interface Gi1\n switchport mode trunk\n description up\n"
        "interface Gi2\n switchport mode trunk\n"
        "interface Gi3\n switchport mode trunk\n shutdown\n"
        "interface Gi4\n switchport mode access\n"
    )
    row = _one(pack, text)
    assert row["status"] == "fail"
    assert [e["text"] for e in row["evidence"]] == ["interface Gi2"]


def test_junos_blocks_group_statements_by_the_words_matched() -> None:
    pack = _pack(
        {
            "id": "if-desc",
            "title": "Interfaces are described",
            "source": "config",
            "config": {"block": r"^interfaces [gx]e-\S+", "present": " description "},
        },
        ["juniper_junos"],
    )
    text = (
        "interfaces {\n    ge-0/0/0 {\n        description uplink;\n"
        "        unit 0 { family inet; }\n    }\n    ge-0/0/1 {\n        unit 0;\n    }\n}\n"
    )
    row = _one(pack, text, "juniper_junos")
    assert row["status"] == "fail"
    assert row["evidence"] == [
        {"line": 7, "text": "interfaces ge-0/0/1", "why": "no line matching  description "}
    ]
