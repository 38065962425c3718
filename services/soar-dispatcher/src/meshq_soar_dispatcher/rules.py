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
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "VARIABLES",
    "Condition",
    "Rule",
    "RuleError",
    "load_rules",
    "parse_condition",
]

VARIABLES = frozenset({"row_count", "status", "elapsed_ms"})
SEVERITIES = frozenset({"info", "low", "warning", "medium", "high", "critical"})
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+)|(?P<word>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>>=|<=|==|!=|>|<)|(?P<par>[()]))"
)


class RuleError(ValueError):
    """A rule that cannot be used; the message names the rule and the position."""


class ConditionSyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Comparison:
    variable: str
    op: str
    value: int

    def __call__(self, facts: Mapping[str, float | int | None]) -> bool:
        actual = facts.get(self.variable)
        return actual is not None and _OPS[self.op](actual, self.value)


@dataclass(frozen=True)
class BoolOp:
    kind: str  # "and" | "or"
    parts: tuple[Condition, ...]

    def __call__(self, facts: Mapping[str, float | int | None]) -> bool:
        if self.kind == "and":
            return all(part(facts) for part in self.parts)
        return any(part(facts) for part in self.parts)


Condition = Comparison | BoolOp


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            start = len(text) - len(text[pos:].lstrip())
            raise ConditionSyntaxError(f"unexpected character {text[start]!r}", start)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Condition:
        cond = self.expr()
        kind, value, pos = self.peek()
        if kind != "end":
            raise ConditionSyntaxError(f"expected 'and', 'or' or the end, got {value!r}", pos)
        return cond

    def expr(self) -> Condition:
        return self._chain("or", self.conj)

    def conj(self) -> Condition:
        return self._chain("and", self.term)

    def _chain(self, word: str, sub: Callable[[], Condition]) -> Condition:
        parts = [sub()]
        while self.peek()[0] == "word" and self.peek()[1].lower() == word:
            self.take()
            parts.append(sub())
        return parts[0] if len(parts) == 1 else BoolOp(word, tuple(parts))

    def term(self) -> Condition:
        kind, value, pos = self.take()
        if kind == "par" and value == "(":
            inner = self.expr()
            kind, value, close = self.take()
            if not (kind == "par" and value == ")"):
                raise ConditionSyntaxError(f"expected ')', got {value or 'the end'!r}", close)
            return inner
        if kind != "word" or value not in VARIABLES:
            got = value or "the end"
            raise ConditionSyntaxError(
                f"expected one of {', '.join(sorted(VARIABLES))}, got {got!r}", pos
            )
        op_kind, op, op_pos = self.take()
        if op_kind != "op":
            raise ConditionSyntaxError(
                f"expected an operator (> >= < <= == !=), got {op or 'the end'!r}", op_pos
            )
        num_kind, num, num_pos = self.take()
        if num_kind != "num":
            raise ConditionSyntaxError(f"expected an integer, got {num or 'the end'!r}", num_pos)
        return Comparison(value, op, int(num))


def parse_condition(text: str) -> Condition:
    """Parse a condition; :class:`ConditionSyntaxError` carries the 0-based position."""
    if not text.strip():
        raise ConditionSyntaxError("empty condition", 0)
    return _Parser(text).parse()


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
