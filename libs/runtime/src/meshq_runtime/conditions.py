"""A small condition grammar for rules (SOAR, alerts), parsed into a tree: never ``eval``.

Grammar::

    expr  := and ( "or" and )*
    and   := term ( "and" term )*
    term  := "(" expr ")" | VAR OP NUMBER
    OP    := > | >= | < | <= | == | !=

``VAR`` is one of the names the caller allows (SOAR: ``row_count``, ``status``,
``elapsed_ms``; alerts: the numeric columns of a query's rows; a true/false column compares
as 1/0). ``NUMBER`` is an integer, or
also a decimal (``80.5``) where the caller allows decimals. A variable a fact set does not
hold, or holds as null, makes its comparison false: an unknown value never fires a rule.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BoolOp",
    "Comparison",
    "Condition",
    "ConditionSyntaxError",
    "parse_condition",
]

#: The longest condition accepted (a rule's text is bounded before it is parsed).
MAX_LENGTH = 2000
#: The most comparisons one condition may hold.
MAX_TERMS = 64

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>>=|<=|==|!=|>|<)|(?P<par>[()]))"
)


class ConditionSyntaxError(ValueError):
    """A condition that does not parse; ``position`` is 0-based."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Comparison:
    variable: str
    op: str
    value: int | float

    def __call__(self, facts: Mapping[str, Any]) -> bool:
        actual = facts.get(self.variable)
        if isinstance(actual, bool):  # a yes/no column compares as 1/0 (``managed == 0``)
            actual = int(actual)
        if not isinstance(actual, int | float):
            return False
        if isinstance(actual, float) and math.isnan(actual):
            return False
        return _OPS[self.op](actual, self.value)


@dataclass(frozen=True)
class BoolOp:
    kind: str  # "and" | "or"
    parts: tuple[Condition, ...]

    def __call__(self, facts: Mapping[str, Any]) -> bool:
        if self.kind == "and":
            return all(part(facts) for part in self.parts)
        return any(part(facts) for part in self.parts)


Condition = Comparison | BoolOp


def variables_of(condition: Condition) -> set[str]:
    """The variables a condition reads."""
    if isinstance(condition, Comparison):
        return {condition.variable}
    return set().union(*(variables_of(part) for part in condition.parts))


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
    def __init__(self, text: str, variables: Collection[str] | None, decimals: bool) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.variables = variables
        self.decimals = decimals
        self.terms = 0

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
        known = self.variables
        if (
            kind != "word"
            or value.lower() in {"and", "or"}
            or (known is not None and value not in known)
        ):
            got = value or "the end"
            wanted = (
                f"one of {', '.join(sorted(known))}" if known is not None else "a variable name"
            )
            raise ConditionSyntaxError(f"expected {wanted}, got {got!r}", pos)
        op_kind, op, op_pos = self.take()
        if op_kind != "op":
            raise ConditionSyntaxError(
                f"expected an operator (> >= < <= == !=), got {op or 'the end'!r}", op_pos
            )
        num_kind, num, num_pos = self.take()
        if num_kind != "num" or ("." in num and not self.decimals):
            wanted = "a number" if self.decimals else "an integer"
            raise ConditionSyntaxError(f"expected {wanted}, got {num or 'the end'!r}", num_pos)
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise ConditionSyntaxError(f"more than {MAX_TERMS} comparisons", pos)
        return Comparison(value, op, float(num) if "." in num else int(num))


def parse_condition(
    text: str, variables: Collection[str] | None = None, *, decimals: bool = False
) -> Condition:
    """Parse a condition over ``variables`` (any identifier when None);
    :class:`ConditionSyntaxError` carries the 0-based position."""
    if not text.strip():
        raise ConditionSyntaxError("empty condition", 0)
    if len(text) > MAX_LENGTH:
        raise ConditionSyntaxError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH)
    return _Parser(text, variables, decimals).parse()
