"""Which commands a live collection runs per platform: those ingest understands.

The list comes from :data:`network_discovery.parsers.COMMANDS`: a brief form is dropped
where a detailed one exists (``show lldp neighbors`` when ``... detail`` is there), and a few
commands that repeat another one are left out. Output that says the command does not exist
on the device is recognised and not parsed (the fact kind is then simply not collected).
"""

from __future__ import annotations

import re

from network_discovery.parsers import COMMANDS

__all__ = [
    "JSON_PIPES",
    "commands_for",
    "guess_platform",
    "is_unsupported_output",
]

#: How each platform is asked for a command's structured output.
JSON_PIPES = {
    "arista_eos": "| json",
    "cisco_nxos": "| json",
    "juniper_junos": "| display json",
}
# Junos prints its detailed LLDP form per port only; NX-OS "show ip interface vrf all"
# already holds what "show ip interface" holds.
_LEFT_OUT = {
    "juniper_junos": {"show lldp neighbors interface"},
    "cisco_nxos": {"show ip interface"},
}
_UNSUPPORTED = re.compile(
    r"^\s*(?:% ?Invalid (?:input|command)|% ?Incomplete command|% ?Unrecognized command|"
    r"Unknown command|Invalid command|syntax error|% ?Ambiguous command)",
    re.I | re.M,
)
_GUESS = (
    (re.compile(r"arista|\beos\b", re.I), "arista_eos"),
    (re.compile(r"nx-?os|nexus", re.I), "cisco_nxos"),
    (re.compile(r"junos|juniper", re.I), "juniper_junos"),
    (re.compile(r"cisco ios|ios-?xe|\bios\b", re.I), "cisco_ios"),
)


def commands_for(platform: str) -> tuple[str, ...]:
    """The commands to run on ``platform``, in the order they are run."""
    specs = COMMANDS[platform]
    best: dict[str, int] = {}
    for spec in specs:
        if spec.group:
            best[spec.group] = max(best.get(spec.group, spec.rank), spec.rank)
    left_out = _LEFT_OUT.get(platform, set())
    if platform == "juniper_junos":  # the brief LLDP form is the one collected there
        best["lldp"] = 0
    return tuple(
        spec.command
        for spec in specs
        if spec.command not in left_out and (spec.group is None or spec.rank == best[spec.group])
    )


def is_unsupported_output(text: str) -> bool:
    """Whether the output is the device saying it does not know the command."""
    head = "\n".join(text.strip().splitlines()[:3])
    return bool(_UNSUPPORTED.search(head))


def guess_platform(*texts: str | None) -> str | None:
    """A platform from what a neighbour advertises (LLDP system description, CDP platform)."""
    joined = " ".join(t for t in texts if t)
    for pattern, platform in _GUESS:
        if pattern.search(joined):
            return platform
    return None
