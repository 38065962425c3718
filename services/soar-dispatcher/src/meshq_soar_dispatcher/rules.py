"""SOAR rules: a tiny condition grammar (never ``eval``) and query matching.

Grammar::

    expr  := and ( "or" and )*
    and   := term ( "and" term )*
    term  := "(" expr ")" | VAR OP INT
    VAR   := row_count | status | elapsed_ms
    OP    := > | >= | < | <= | == | !=

A rule is ``{"condition": ..., "query": ..., "label": ..., "severity": ...}``; ``query`` is an
exact catalogue query name or a glob (``firewall_*``), ``severity`` defaults to ``warning``.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshq_runtime.conditions import Condition, ConditionSyntaxError
from meshq_runtime.conditions import parse_condition as _parse

__all__ = [
    "VARIABLES",
    "Condition",
    "ConditionSyntaxError",
    "Rule",
    "RuleError",
    "load_rules",
    "parse_condition",
]

VARIABLES = frozenset({"row_count", "status", "elapsed_ms"})
SEVERITIES = frozenset({"info", "low", "warning", "medium", "high", "critical"})


class RuleError(ValueError):
    """A rule that cannot be used; the message names the rule and the position."""


def parse_condition(text: str) -> Condition:
    """Parse a SOAR condition; :class:`ConditionSyntaxError` carries the 0-based position."""
    return _parse(text, VARIABLES)


@dataclass(frozen=True)
class Rule:
    label: str
    query: str
    condition_text: str
    condition: Condition
    severity: str = "warning"

    def matches_query(self, query: str | None) -> bool:
        return query is not None and fnmatch.fnmatchcase(query, self.query)

    def applies(self, query: str | None, facts: Mapping[str, float | int | None]) -> bool:
        return self.matches_query(query) and self.condition(facts)


def _rule_from(index: int, raw: Any) -> Rule:
    where = f"SOAR rule #{index + 1}"
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: expected an object with condition, query and label")
    label = raw.get("label")
    if isinstance(label, str) and label.strip():
        where += f" ({label!r})"
    unknown = set(raw) - {"condition", "query", "label", "severity"}
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for name in ("condition", "query", "label"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise RuleError(f"{where}: field {name!r} must be a non-empty string")
    severity = raw.get("severity", "warning")
    if not isinstance(severity, str) or severity.lower() not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {', '.join(sorted(SEVERITIES))}")
    text = raw["condition"]
    try:
        condition = parse_condition(text)
    except ConditionSyntaxError as exc:
        raise RuleError(
            f"{where}: condition {text!r}: {exc.message} at position {exc.position + 1}"
        ) from None
    return Rule(
        label=raw["label"].strip(),
        query=raw["query"].strip(),
        condition_text=text,
        condition=condition,
        severity=severity.lower(),
    )


def load_rules(text: str, *, origin: str = "SOAR_RULES") -> list[Rule]:
    """Rules from their JSON text; :class:`RuleError` names the rule and the position."""
    try:
        raw = json.loads(text or "[]")
    except json.JSONDecodeError as exc:
        raise RuleError(
            f"{origin}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(raw, list):
        raise RuleError(f"{origin}: expected a JSON list of rules")
    rules = [_rule_from(i, item) for i, item in enumerate(raw)]
    labels = [r.label for r in rules]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise RuleError(f"{origin}: duplicate rule label(s) {', '.join(dupes)}")
    return rules
