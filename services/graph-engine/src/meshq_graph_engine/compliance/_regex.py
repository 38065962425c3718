"""Regular expressions from rule packs, compiled and run with limits.

A pack is data a customer writes: its patterns are compiled with the ``regex`` module and
every search runs under a time limit, so that a pattern that backtracks without end (or a
line built to make one do so) stops with :class:`PatternTimeout` instead of holding the
service. Patterns are bounded in length and compiled once per text.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Sequence
from typing import Any

import regex  # type: ignore[import-untyped]

__all__ = ["MAX_PATTERN", "SEARCH_TIMEOUT_S", "Pattern", "PatternTimeout", "compile_pattern"]

#: The longest pattern a pack may hold.
MAX_PATTERN = 512
#: The longest one search may run, in seconds (one search covers a whole configuration).
SEARCH_TIMEOUT_S = 0.5


class PatternTimeout(Exception):
    """A search ran past its time limit."""


class Pattern:
    """A compiled pattern whose searches are time-limited."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_PATTERN:
            raise ValueError(f"pattern longer than {MAX_PATTERN} characters")
        try:
            self._compiled = regex.compile(text, regex.VERSION0 | regex.MULTILINE)
        except regex.error as exc:
            raise ValueError(f"invalid pattern {text[:60]!r}: {exc}") from None
        self.text = text

    def search(self, line: str) -> Any:
        """The match (a ``regex`` match object), or None."""
        try:
            return self._compiled.search(line, timeout=SEARCH_TIMEOUT_S)
        except TimeoutError:
            raise PatternTimeout(f"pattern {self.text[:60]!r} ran past its time limit") from None

    def matching(self, lines: Sequence[str]) -> list[int]:
        """The indexes of the lines the pattern matches (``^`` and ``$`` anchor at each
        line's ends), found in one pass over the lines joined: a match is counted on the
        line it starts on."""
        if not lines:
            return []
        starts = [0, *itertools.accumulate(len(line) + 1 for line in lines)][:-1]
        try:
            found = self._compiled.finditer("\n".join(lines), timeout=SEARCH_TIMEOUT_S)
            indexes = sorted({bisect.bisect_right(starts, m.start()) - 1 for m in found})
        except TimeoutError:
            raise PatternTimeout(f"pattern {self.text[:60]!r} ran past its time limit") from None
        return [i for i in indexes if 0 <= i < len(lines)]

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"


@functools.lru_cache(maxsize=4096)
def compile_pattern(text: str) -> Pattern:
    """``text`` compiled (a ``ValueError`` saying why it cannot be)."""
    return Pattern(text)
