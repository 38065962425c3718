"""One device against one rule: pass, fail, not applicable or unknown, with the evidence.

- ``pass``/``fail``: the rule was checked; the evidence says where (configuration lines with
  their numbers, or the facts and graph values read).
- ``not_applicable``: the rule is not for this device (another platform or role), or what it
  checks is not there (a block rule and no such block).
- ``unknown``: what the rule reads is not known (no configuration text kept for the device, a
  fact not collected, a configuration cut at its size limit where the answer could be in the
  part cut off, a pattern that ran past its time limit). Never a guess.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

from meshq_runtime.conditions import variables_of

from meshq_graph_engine.compliance._config import Block, ConfigText, Line, read_config
from meshq_graph_engine.compliance._regex import PatternTimeout
from meshq_graph_engine.compliance.packs import ConfigCheck, Pack, Rule

__all__ = [
    "MAX_EVIDENCE",
    "RESULT_COLUMNS",
    "DeviceInput",
    "Result",
    "Status",
    "evaluate_device",
    "parse_when",
]

Status = Literal["pass", "fail", "not_applicable", "unknown"]
#: The most evidence items kept per result.
MAX_EVIDENCE = 20


@dataclass
class DeviceInput:
    """What the rules read about one device."""

    device: str
    platform: str | None = None
    role: str | None = None
    os_version: str | None = None
    #: ``facts`` variables (None: not known).
    facts: dict[str, Any] = field(default_factory=dict)
    #: ``graph`` variables, and per variable the graph facts behind it.
    graph: dict[str, Any] = field(default_factory=dict)
    graph_evidence: dict[str, list[str]] = field(default_factory=dict)
    #: The configuration text; None when none is kept for the device.
    config: str | None = None
    #: When the text kept was collected, and when the device was last collected (ISO 8601;
    #: None: not known).
    config_collected_at: str | None = None
    last_collected: str | None = None

    def config_age(self) -> str:
        """A note when the text kept is older than the device's last collection (a later
        snapshot covered the device without its configuration); empty otherwise."""
        if self.config is None:
            return ""
        kept, last = parse_when(self.config_collected_at), parse_when(self.last_collected)
        if last is None:
            return ""  # nothing to compare with
        if kept is None:
            return "; the configuration kept is of unknown age"
        if kept < last:
            return (
                f"; the configuration kept was collected at {kept.isoformat()}, before the "
                f"device's last collection at {last.isoformat()}"
            )
        return ""

    def fingerprint(self) -> str:
        """Changes when anything a rule reads changes: a result is reused while it holds."""
        body = json.dumps(
            [
                self.device,
                self.platform,
                self.role,
                self.os_version,
                self.facts,
                self.graph,
                self.graph_evidence,
                self.config_age(),
            ],
            sort_keys=True,
            default=str,
        )
        digest = hashlib.sha256(body.encode())
        digest.update(b"\0" + (self.config or "").encode("utf-8", "replace"))
        digest.update(b"\1" if self.config is None else b"\2")
        return digest.hexdigest()


def parse_when(value: object) -> datetime | None:
    """An ISO 8601 time as kept (UTC when it names no zone); None when it is not one."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Result:
    device: str
    pack: str
    rule: str
    title: str
    severity: str
    source: str
    status: Status
    message: str
    evidence: tuple[dict[str, Any], ...] = ()
    remediation: str = ""

    def as_row(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "pack": self.pack,
            "rule": self.rule,
            "title": self.title,
            "severity": self.severity,
            "source": self.source,
            "status": self.status,
            "message": self.message,
            "evidence": [dict(e) for e in self.evidence],
            "remediation": self.remediation,
        }


#: A result row's fields, in order (``Result.as_row``): the columns it is stored and exported as.
RESULT_COLUMNS = tuple(f.name for f in fields(Result))


def _line(entry: Line) -> dict[str, Any]:
    return {"line": entry.number, "text": entry.text[:300]}


def _flat(blocks: list[Block]) -> tuple[list[str], list[int], list[Line]]:
    """Every line of ``blocks``: its text, the index of its block, and the line."""
    texts: list[str] = []
    owners: list[int] = []
    lines: list[Line] = []
    for i, block in enumerate(blocks):
        for entry in block.lines:
            texts.append(entry.text)
            owners.append(i)
            lines.append(entry)
    return texts, owners, lines


def _blocks(check: ConfigCheck, config: ConfigText) -> list[Block] | None:
    """The blocks the check is about (None: the whole configuration)."""
    block = check.pattern("block")
    if block is None:
        return None
    if config.style == "junos":  # statements grouped by the words the pattern matched
        groups: dict[str, Block] = {}
        for entry in config.lines:
            found = block.search(entry.text) if entry.text else None
            if found is None:
                continue
            key = found.group(0)
            if key not in groups:
                groups[key] = Block(Line(entry.number, key), [])
            groups[key].lines.append(entry)
        chosen = list(groups.values())
    else:
        heads = block.matching([b.header.text for b in config.blocks])
        chosen = [config.blocks[i] for i in heads]
    for name, keep in (("where", True), ("unless", False)):
        pattern = check.pattern(name)
        if pattern is None or not chosen:
            continue
        texts, owners, _ = _flat(chosen)
        having = {owners[i] for i in pattern.matching(texts)}
        chosen = [b for i, b in enumerate(chosen) if (i in having) == keep]
    return chosen


def _check_config(check: ConfigCheck, config: ConfigText) -> tuple[Status, str, list[Any]]:
    blocks = _blocks(check, config)
    if blocks is not None and not blocks:
        if config.truncated and check.if_no_block != "not_applicable":
            return "unknown", "the configuration was cut at its size limit", []
        message = "no block of the configuration is in the rule's scope"
        return check.if_no_block, message, []
    if blocks is None:
        lines = config.lines
        texts, owners = [e.text for e in lines], [0] * len(lines)
        headers: list[Line | None] = [None]
    else:
        texts, owners, lines = _flat(blocks)
        headers = [b.header for b in blocks]
    present, absent = check.pattern("present"), check.pattern("absent")
    failed: list[dict[str, Any]] = []
    passed: list[dict[str, Any]] = []
    if absent is not None:
        for i in absent.matching(texts):
            failed.append({**_line(lines[i]), "why": f"matches {absent.text}"})
    if present is not None:
        first: dict[int, Line] = {}
        for i in present.matching(texts):
            first.setdefault(owners[i], lines[i])
        for index, header in enumerate(headers):
            if index in first:
                passed.append(_line(first[index]))
            elif header is not None:
                failed.append({**_line(header), "why": f"no line matching {present.text}"})
            else:
                why = f"no line matching {present.text}"
                failed.append({"line": None, "text": None, "why": why})
    failed.sort(key=lambda f: (f["line"] is None, f["line"] or 0))
    if failed:
        if config.truncated and all(f["line"] is None or "no line" in f["why"] for f in failed):
            return "unknown", "the configuration was cut at its size limit", failed
        scope = "the configuration" if blocks is None else f"{len(blocks)} block(s)"
        return "fail", f"{len(failed)} finding(s) in {scope}", failed
    if config.truncated and absent is not None:
        return "unknown", "the configuration was cut at its size limit", passed
    scope = "the configuration" if blocks is None else f"all {len(blocks)} block(s)"
    return "pass", f"{scope} comply", passed


def _check_values(
    rule: Rule, values: dict[str, Any], details: dict[str, list[str]]
) -> tuple[Status, str, list[Any]]:
    condition = rule.parsed_condition()
    names = sorted(variables_of(condition))
    evidence: list[dict[str, Any]] = []
    for name in names:
        item: dict[str, Any] = {"fact": name, "value": values.get(name)}
        if details.get(name):
            item["details"] = details[name][:MAX_EVIDENCE]
        evidence.append(item)
    unknown = [n for n in names if values.get(n) is None]
    if unknown:
        return "unknown", f"not known for this device: {', '.join(unknown)}", evidence
    if condition(values):
        return "pass", f"{rule.condition} holds", evidence
    return "fail", f"{rule.condition} does not hold", evidence


def _applies(pack: Pack, rule: Rule, device: DeviceInput) -> str | None:
    """Why the rule is not for the device; None when it is."""
    platforms = pack.platforms_of(rule)
    if platforms and device.platform not in platforms:
        return (
            f"for {', '.join(platforms)}; the device is {device.platform or 'of unknown platform'}"
        )
    if rule.roles and (device.role or "").lower() not in rule.roles:
        return f"for role {', '.join(rule.roles)}; the device is {device.role or 'without a role'}"
    return None


def evaluate_device(device: DeviceInput, packs: Iterable[Pack]) -> list[Result]:
    """Every rule of every pack against ``device``, in pack and rule order."""
    config: ConfigText | None = None
    if device.config is not None:
        config = read_config(device.config, device.platform)
    age = device.config_age()
    results: list[Result] = []
    for pack in packs:
        for rule in pack.rules:
            evidence: list[Any] = []
            status: Status
            why = _applies(pack, rule, device)
            if why is not None:
                status, message = "not_applicable", why
            elif rule.source == "config":
                assert rule.config is not None
                if config is None:
                    status, message = "unknown", "no configuration text is kept for the device"
                else:
                    try:
                        status, message, evidence = _check_config(rule.config, config)
                    except PatternTimeout as exc:
                        status, message = "unknown", str(exc)
                    message += age
            elif rule.source == "facts":
                status, message, evidence = _check_values(rule, device.facts, {})
            else:
                status, message, evidence = _check_values(rule, device.graph, device.graph_evidence)
            results.append(
                Result(
                    device=device.device,
                    pack=pack.pack,
                    rule=rule.id,
                    title=rule.title,
                    severity=rule.severity,
                    source=rule.source,
                    status=status,
                    message=message,
                    evidence=tuple(evidence[:MAX_EVIDENCE]),
                    remediation=rule.remediation if status == "fail" else "",
                )
            )
    return results
