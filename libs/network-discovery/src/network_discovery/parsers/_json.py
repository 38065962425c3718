"""Structured output: a command's JSON (``show ... | json`` on Arista EOS and Cisco NX-OS,
``show ... | display json`` on Junos) or XML (``| display xml``, ``| xml``) read into the same
rows its TextFSM template yields, so one set of row mappers serves text and structured output.

Each command's adapter is named in its :class:`~network_discovery.parsers._spec.CommandSpec`
(``json=``); the adapters live per vendor in ``_json_eos``, ``_json_nxos`` and ``_json_junos``.
"""

from __future__ import annotations

from typing import Any

from network_discovery.parsers._json_base import JsonOutputError, Row, load_document
from network_discovery.parsers._spec import CommandSpec
from network_discovery.parsers._xml import xml_document

__all__ = ["JsonOutputError", "json_rows", "structured_rows"]


def structured_rows(spec: CommandSpec, platform: str, text: str, fmt: str) -> list[Row]:
    """The template rows of a JSON or XML output; :class:`JsonOutputError` says what is wrong."""
    if spec.json is None:
        raise JsonOutputError(
            f"{fmt.upper()} output of {spec.command!r} is not read on {platform}; save it as text"
        )
    doc: Any
    if fmt == "xml":
        try:
            doc = xml_document(text, platform)
        except ValueError as exc:
            raise JsonOutputError(f"not XML this product reads: {exc}") from None
    else:
        try:
            doc = load_document(text)
        except ValueError as exc:
            raise JsonOutputError(f"not valid JSON: {exc}") from None
    if isinstance(doc, list) and len(doc) == 1 and isinstance(doc[0], dict):
        doc = doc[0]  # eAPI / NX-API answers hold one result per command
    if isinstance(doc, dict) and isinstance(doc.get("result"), list) and len(doc["result"]) == 1:
        doc = doc["result"][0]
    if not isinstance(doc, dict):
        raise JsonOutputError("expected a JSON object")
    try:
        return spec.json(doc)
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        raise JsonOutputError(f"unexpected JSON layout ({type(exc).__name__}: {exc})") from None


def json_rows(platform: str, command: str, text: str) -> list[Row]:
    """The template rows of ``command``'s JSON output on ``platform``."""
    from network_discovery.parsers._commands import COMMANDS

    for spec in COMMANDS.get(platform, ()):
        if spec.command == command and spec.json is not None:
            return structured_rows(spec, platform, text, "json")
    raise JsonOutputError(f"no JSON mapping for {command!r} on {platform}; save it as text")
