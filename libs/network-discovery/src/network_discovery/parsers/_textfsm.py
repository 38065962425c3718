"""Running one TextFSM template over one command's output."""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import textfsm

__all__ = ["TemplateError", "TemplateRef", "run_template"]

_OWN = resources.files("network_discovery.parsers").joinpath("templates")
# Junos prints the routing-engine context after some commands; it is not output.
_JUNOS_TRAILER = re.compile(r"^\{(?:master|backup|primary|secondary|linecard)(?::[\w-]+)?\}\s*$")
_RULE_LINE = re.compile(r"Input Line:\s?(?P<line>.*)$", re.S)
#: Compiled templates, per thread (a state machine holds its parse's state).
_COMPILED = threading.local()


@dataclass(frozen=True)
class TemplateRef:
    """A template by file name, from ntc-templates (``ntc``) or shipped with us (``own``)."""

    name: str
    source: str = "ntc"

    def __str__(self) -> str:
        return f"{self.source}:{self.name}"

    def path(self) -> Path:
        if self.source == "own":
            return Path(str(_OWN.joinpath(self.name)))
        return Path(str(resources.files("ntc_templates").joinpath("templates", self.name)))


class TemplateError(ValueError):
    """The template refused the output; ``line`` is the 1-based input line when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@cache
def _template_text(ref: TemplateRef) -> str:
    return ref.path().read_text(encoding="utf-8")


def _clean(text: str, platform: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if platform == "juniper_junos":
        lines = [ln for ln in lines if not _JUNOS_TRAILER.match(ln)]
    return "\n".join(lines) + ("\n" if not text.endswith("\n") else "")


def _line_of(text: str, offending: str) -> int | None:
    stripped = offending.rstrip("\n")
    for number, line in enumerate(text.split("\n"), start=1):
        if line == stripped:
            return number
    return None


def _fsm(ref: TemplateRef) -> textfsm.TextFSM:
    """The template's state machine, compiled once per thread and reset for each use
    (compiling it took most of a device's parse time)."""
    compiled: dict[TemplateRef, textfsm.TextFSM] = _COMPILED.__dict__.setdefault("by_ref", {})
    fsm = compiled.get(ref)
    if fsm is None:
        fsm = compiled[ref] = textfsm.TextFSM(io.StringIO(_template_text(ref)))
    else:
        fsm.Reset()
    return fsm


def run_template(ref: TemplateRef, text: str, platform: str) -> list[dict[str, Any]]:
    """Parse ``text`` with the template; rows as dicts with lower-case keys."""
    try:
        fsm = _fsm(ref)
    except (OSError, textfsm.TextFSMTemplateError) as exc:
        raise TemplateError(f"template cannot be loaded: {exc}") from None
    cleaned = _clean(text, platform)
    try:
        rows = fsm.ParseTextToDicts(cleaned)
    except textfsm.TextFSMError as exc:
        match = _RULE_LINE.search(str(exc))
        line = _line_of(text, match["line"]) if match else None
        shown = match["line"].strip() if match else str(exc)
        raise TemplateError(f"unexpected line {shown[:120]!r}", line) from None
    return [{k.lower(): v for k, v in row.items()} for row in rows]
