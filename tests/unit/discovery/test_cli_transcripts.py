"""Reading a device's command line: prompts, and a command's output out of what the session
printed (echo, line endings, pager prompts, escape sequences, Junos context lines)."""

from __future__ import annotations

import pytest
from network_discovery.discovery._cli import (
    DIALECTS,
    command_output,
    hostname_of,
    normalise,
    prompt_line,
)

IOS, NXOS, EOS, JUNOS = (
    DIALECTS[p] for p in ("cisco_ios", "cisco_nxos", "arista_eos", "juniper_junos")
)


@pytest.mark.parametrize(
    ("text", "terminators", "prompt"),
    [
        ("Welcome\r\nacc1>", ">#", "acc1>"),
        ("acc1#", ">#", "acc1#"),
        ("\r\nnetops@edge1> ", ">#%$", "netops@edge1>"),
        ("root@edge1:RE:0% ", ">#%$", "root@edge1:RE:0%"),
        ("\x1b[?2004hcore1(config)#", ">#", "core1(config)#"),
        ("\x08" * 9 + " " * 9 + "\x08" * 9 + "sw1#", ">#", "sw1#"),  # right after a pager
        # not prompts: a line still coming, a blank line, another terminator, a huge line
        ("Cisco IOS Software, Version 15.2", ">#", None),
        ("acc1#\r\n", ">#", None),
        ("acc1%", ">#", None),
        ("x" * 300 + "#", ">#", None),
    ],
    ids=[
        "ios-user",
        "ios-priv",
        "junos",
        "junos-shell",
        "escapes",
        "after-pager",
        "output",
        "blank",
        "terminator",
        "too-long",
    ],
)
def test_prompt_line(text: str, terminators: str, prompt: str | None) -> None:
    assert prompt_line(text, terminators) == prompt


@pytest.mark.parametrize(
    ("prompt", "dialect", "name"),
    [
        ("acc1>", IOS, "acc1"),
        ("distribution-switch-01#", IOS, "distribution-switch-01"),  # not cut at 16
        ("core1(config)#", EOS, "core1"),
        ("n9k-spine1#", NXOS, "n9k-spine1"),
        ("netops@edge1>", JUNOS, "edge1"),
        ("root@edge1:RE:0%", JUNOS, "edge1"),
    ],
    ids=["ios", "long-name", "config-mode", "nxos", "junos", "junos-shell"],
)
def test_hostname_of(prompt: str, dialect, name: str) -> None:
    assert hostname_of(prompt, dialect) == name


def test_output_between_the_echo_and_the_prompt() -> None:
    printed = "\r\nacc1>show version\r\nCisco IOS Software\r\n  uptime 1 week\r\n\r\nacc1>"
    assert command_output(printed, "show version", IOS) == "Cisco IOS Software\n  uptime 1 week\n"
    # an empty answer, and a prompt left over from before the command
    assert (
        command_output("acc1>\r\nacc1>terminal length 0\r\nacc1>", "terminal length 0", IOS) == ""
    )


def test_nxos_line_endings_and_escape_sequences() -> None:
    printed = "show vlan\r\r\n\rVLAN Name\r\r\n\x1b[1m1\x1b[0m    default\r\r\n\rn9k#"
    assert command_output(printed, "show vlan", NXOS) == "VLAN Name\n1    default"


def test_answered_pager_prompts_are_erased() -> None:
    erase = "\x08" * 9 + " " * 9 + "\x08" * 9  # IOS wipes its " --More-- "
    ios = f"show run\r\nline 1\r\n{erase}line 2\r\nsw#"
    assert command_output(ios, "show run", IOS) == "line 1\nline 2"
    junos = "show route\r\nline 1\r\n\r                    \rline 2\r\nnetops@r1> "
    assert command_output(junos, "show route", JUNOS) == "line 1\nline 2"


def test_junos_context_lines_are_dropped_like_netmiko_did() -> None:
    printed = "show version\r\nHostname: edge1\r\n\r\n{master:0}\r\nnetops@edge1> "
    assert command_output(printed, "show version", JUNOS) == "Hostname: edge1\n"
    printed = "show configuration\r\nsystem {}\r\n[edit]\r\nnetops@edge1# "
    assert command_output(printed, "show configuration", JUNOS) == "system {}"
    # a context-looking last line is kept on other platforms
    assert command_output("show x\r\n{master:0}\r\nsw#", "show x", EOS) == "{master:0}"


def test_normalise_keeps_text() -> None:
    text = "Interface  Status\n  Gi1/0/1   up   \n\ttab\n"
    assert normalise(text) == text
