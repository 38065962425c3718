"""The shape of an IOS-style configuration: top-level lines, each with the indented lines
under it (an ``interface`` and its settings). Banner and macro bodies are text, not
configuration, and are passed over so that a line in them is never read as a command."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Block", "config_blocks"]

_BANNERS = frozenset(
    {"motd", "login", "exec", "incoming", "slip-ppp", "prompt-timeout", "config-save"}
)


@dataclass
class Block:
    """A top-level line (its 1-based number and words) and the lines indented under it,
    each as (line number, text without the indentation); ``indents`` holds how far each of
    them was indented, so that a line nested deeper (the ``shutdown`` of a VRRP group inside
    an ``interface``) can be told from one directly under the block."""

    line: int
    words: list[str]
    text: str
    children: list[tuple[int, str]] = field(default_factory=list)
    indents: list[int] = field(default_factory=list)

    def direct_children(self) -> list[tuple[int, str]]:
        """The lines directly under the block: those of the least indentation."""
        if not self.indents:
            return list(self.children)
        least = min(self.indents)
        return [c for c, indent in zip(self.children, self.indents, strict=True) if indent == least]


def _banner_delimiter(line: str, words: list[str]) -> str | None:
    """The delimiter that closes a banner this line opens and does not close itself, if any.
    ``show running-config`` prints the delimiter as ``^C``; a typed one is one character."""
    if words[0] != "banner" or len(words) < 2:
        return None
    opening = words[2] if words[1] in _BANNERS else words[1]
    if words[1] in _BANNERS and len(words) < 3:
        return None
    delimiter = "^C" if opening.startswith("^C") else opening[0]
    rest = line[line.index(opening) + len(delimiter) :]
    return None if delimiter in rest else delimiter


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Numbered configuration lines, without banner and macro bodies."""
    closing: str | None = None
    macro = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if closing is not None:
            if closing in line:
                closing = None
            continue
        if macro:
            macro = line.strip() != "@"
            continue
        words = line.split()
        if not words:
            continue
        if line[0] not in " \t":
            closing = _banner_delimiter(line, words)
            macro = words[:2] == ["macro", "name"]
        yield number, line


def config_blocks(text: str) -> list[Block]:
    """Every top-level line of the configuration with the lines indented under it; ``!``
    comments are left out (a top-level one ends the block above it)."""
    blocks: list[Block] = []
    current: Block | None = None
    for number, line in _lines(text):
        stripped = line.strip()
        nested = line[0] in " \t"
        if stripped.startswith("!"):
            if not nested:  # a top-level "!" closes the block above it
                current = None
            continue
        if nested:
            if current is not None:
                current.children.append((number, stripped))
                current.indents.append(len(line) - len(line.lstrip()))
            continue
        current = Block(number, stripped.split(), stripped)
        blocks.append(current)
    return blocks
