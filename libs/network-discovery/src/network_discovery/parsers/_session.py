"""A terminal session saved as one file (a terminal log, a collector's capture): prompts, each
followed by a command and what it printed, split into one output per command.

A prompt is the device's name followed by ``#``, ``>``, ``$`` or ``%`` (``leaf01#``,
``leaf01(config)#``, ``admin@qfx1>``, ``{master:0}`` lines before Junos prompts are dropped),
then the command. Only lines whose command starts like a command this product reads (``show``,
``sh``, ``display``, ``iptables-save``…) count as prompts, so output lines that happen to hold
a ``#`` are not cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SessionCommand", "split_session", "strip_echo"]

_PROMPT = re.compile(
    r"^(?P<prompt>[A-Za-z0-9][\w.:/@~-]*(?:\([\w.:/-]+\))?\s?[#>$%])\s*"
    r"(?P<command>(?:sh|sho|show|display|dis|iptables-save|ip6tables-save|sudo|lldpctl|"
    r"terminal|term|set\s+cli|screen-length|ter)\b.*?)\s*$"
)
_BARE_PROMPT = re.compile(r"^[A-Za-z0-9][\w.:/@~-]*(?:\([\w.:/-]+\))?\s?[#>$%]\s*$")
_JUNOS_CONTEXT = re.compile(r"^\{(?:master|backup|primary|secondary|linecard)(?::[\w-]+)?\}\s*$")
#: Commands that set the terminal up and print nothing worth reading.
_SETUP = re.compile(r"^(?:terminal|term|ter|set\s+cli|screen-length)\b", re.I)


@dataclass(frozen=True)
class SessionCommand:
    command: str
    output: str
    line: int  # 1-based line of the prompt


def _is_prompt(line: str) -> re.Match[str] | None:
    return _PROMPT.match(line)


def split_session(text: str) -> list[SessionCommand]:
    """The commands of a session and their outputs; empty when the text holds no prompt."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found: list[SessionCommand] = []
    current: tuple[str, int] | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None and not _SETUP.match(current[0]):
            found.append(SessionCommand(current[0], "\n".join(body).strip("\n") + "\n", current[1]))

    for number, line in enumerate(lines, start=1):
        match = _is_prompt(line)
        if match:
            close()
            current, body = (match["command"], number), []
            continue
        if current is not None and (_BARE_PROMPT.match(line) or _JUNOS_CONTEXT.match(line)):
            continue
        body.append(line)
    close()
    return found


def strip_echo(text: str) -> str:
    """One command's output without the prompt-and-command line a capture may start with
    (left as an empty line), and without a prompt left at its end."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and _is_prompt(lines[first]):
        lines[first] = ""  # blanked, not removed: line numbers in reports stay those of the file
    while lines and (not lines[-1].strip() or _BARE_PROMPT.match(lines[-1])):
        lines.pop()
    return "\n".join(lines) + "\n" if any(line.strip() for line in lines) else ""
