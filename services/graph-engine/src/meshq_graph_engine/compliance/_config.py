"""A device's configuration text as rules read it: numbered lines, and blocks of them.

Two shapes are read. IOS-style configurations (IOS, IOS-XE, NX-OS, EOS) are lines, with the
lines indented under a top-level line forming its block (``interface Gi1/0/1`` and its
settings); banner bodies are text, not commands, and are left out. Junos configurations,
curly or ``display set``, become one statement per line in set form without the ``set``
(``system services ssh protocol-version v2``), each keeping the number of the line it came
from; a block of them is every statement that starts with the same words.

The text is bounded: a configuration longer than :data:`MAX_BYTES` is cut there (and says
so), a line longer than :data:`MAX_LINE` is cut too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["MAX_BYTES", "MAX_LINE", "Block", "ConfigText", "Line", "read_config"]

#: The most of one configuration read (bytes of UTF-8).
MAX_BYTES = 4 * 1024 * 1024
#: The longest line read; the rest of a longer one is dropped.
MAX_LINE = 4096
_BANNER_KINDS = frozenset({"motd", "login", "exec", "incoming", "slip-ppp", "config-save"})
_JUNOS_PLATFORMS = frozenset({"juniper_junos", "junos"})


@dataclass(frozen=True)
class Line:
    number: int
    text: str


@dataclass
class Block:
    """A block: its first line (the header) and every line of it, the header first."""

    header: Line
    lines: list[Line] = field(default_factory=list)


@dataclass
class ConfigText:
    lines: list[Line]
    blocks: list[Block]
    #: True when the text was longer than :data:`MAX_BYTES` and was cut.
    truncated: bool
    #: "ios" (indented blocks) or "junos" (set-form statements).
    style: str


def _bounded(text: str) -> tuple[str, bool]:
    data = text.encode("utf-8", "replace")
    if len(data) <= MAX_BYTES:
        return text, False
    cut = data[:MAX_BYTES].decode("utf-8", "ignore")
    return cut[: cut.rfind("\n") + 1] if "\n" in cut else cut, True


def _banner_close(line: str, words: list[str]) -> str | None:
    """The delimiter closing a banner that this line opens and does not close."""
    if words[0] != "banner" or len(words) < 2:
        return None
    if words[1] in _BANNER_KINDS:
        if len(words) < 3:
            return "EOF"  # EOS: the body follows on its own lines, up to "EOF"
        opening = words[2]
    else:
        opening = words[1]
    delimiter = "^C" if opening.startswith("^C") else opening[0]
    rest = line[line.index(opening) + len(delimiter) :]
    return None if delimiter in rest else delimiter


def _ios(text: str) -> tuple[list[Line], list[Block]]:
    lines: list[Line] = []
    blocks: list[Block] = []
    current: Block | None = None
    closing: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw[:MAX_LINE].rstrip()
        if closing is not None:
            if closing in line:
                closing = None
            continue
        stripped = line.strip()
        if not stripped:
            continue
        nested = line[0] in " \t"
        if stripped.startswith("!") or stripped.startswith("#"):
            if not nested:
                current = None
            continue
        entry = Line(number, stripped)
        lines.append(entry)
        if nested:
            if current is not None:
                current.lines.append(entry)
            continue
        current = Block(entry, [entry])
        blocks.append(current)
        if stripped.startswith("banner"):
            closing = _banner_close(stripped, stripped.split())
    return lines, blocks


_JUNOS_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{};]|[^\s{};"]+')


def _junos(text: str) -> list[Line]:
    """Set-form statements (without ``set``) with the numbers of the lines they came from."""
    statements: list[Line] = []
    path: list[list[str]] = []
    words: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw[:MAX_LINE]
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("/*"):
            continue
        if stripped.startswith("set "):
            statements.append(Line(number, stripped[4:].strip()))
            continue
        if stripped.startswith(("deactivate ", "delete ", "## ")):
            continue
        for piece in _JUNOS_TOKEN.findall(stripped):
            if not words:
                start = number
            if piece == "{":
                path.append(words)
                words = []
            elif piece == ";":
                full = [w for part in path for w in part] + words
                if full:
                    statements.append(Line(start, " ".join(full)))
                words = []
            elif piece == "}":
                if path:
                    path.pop()
                words = []
            else:
                words.append(piece)
    return statements


def _junos_blocks(lines: list[Line]) -> list[Block]:
    """Each statement is a block of its own; rules group them by the words they share."""
    return [Block(line, [line]) for line in lines]


def read_config(text: str, platform: str | None) -> ConfigText:
    """The configuration ``text`` of a device of ``platform``, read into lines and blocks."""
    body, truncated = _bounded(text)
    junos = (platform or "") in _JUNOS_PLATFORMS or _looks_junos(body)
    if junos:
        lines = _junos(body)
        return ConfigText(lines, _junos_blocks(lines), truncated, "junos")
    lines, blocks = _ios(body)
    return ConfigText(lines, blocks, truncated, "ios")


def _looks_junos(text: str) -> bool:
    """Without a platform: Junos when its first statements are curly or in set form."""
    seen = 0
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith(("#", "!", "/*")):
            continue
        if stripped.startswith("set ") or stripped.endswith("{"):
            return True
        seen += 1
        if seen >= 50:
            break
    return False
