"""The SOAR condition grammar and rule loading: no eval, precise errors."""

from __future__ import annotations

import pytest
from meshq_soar_dispatcher.rules import ConditionSyntaxError, RuleError, load_rules, parse_condition


def _holds(text: str, **facts: float | None) -> bool:
    return parse_condition(text)(facts)


@pytest.mark.parametrize(
    ("text", "facts", "expected"),
    [
        ("row_count > 0", {"row_count": 1}, True),
        ("row_count > 0", {"row_count": 0}, False),
        ("row_count > 0", {"row_count": None}, False),
        ("status >= 500", {"status": 500}, True),
        ("status >= 500", {"status": 499}, False),
        ("elapsed_ms > 1000", {"elapsed_ms": 1000.5}, True),
        ("status < 300", {"status": 200}, True),
        ("status <= 200", {"status": 200}, True),
        ("status == 404", {"status": 404}, True),
        ("status != 404", {"status": 404}, False),
        ("row_count > 0 and status == 200", {"row_count": 1, "status": 200}, True),
        ("row_count > 0 and status == 200", {"row_count": 1, "status": 500}, False),
        ("row_count > 10 or status >= 500", {"row_count": 1, "status": 500}, True),
        ("row_count > 10 or status >= 500", {"row_count": 1, "status": 200}, False),
        # and binds tighter than or
        ("status == 1 and row_count > 0 or elapsed_ms > 5", {"status": 2, "elapsed_ms": 6}, True),
        (
            "status == 1 and (row_count > 0 or elapsed_ms > 5)",
            {"status": 2, "elapsed_ms": 6},
            False,
        ),
        ("  row_count>0  AND  status==200 ", {"row_count": 3, "status": 200}, True),
        ("row_count > -1", {"row_count": 0}, True),
    ],
)
def test_conditions(text: str, facts: dict, expected: bool) -> None:
    assert _holds(text, **facts) is expected


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("", 0),
        ("rows > 0", 0),
        ("row_count >> 0", 11),
        ("row_count > x", 12),
        ("row_count > 0 and", 17),
        ("row_count > 0 status > 1", 14),
        ("(row_count > 0", 14),
        ("row_count > 0; import os", 13),
        ("__import__('os')", 11),
        ("row_count = 1", 10),
    ],
)
def test_syntax_errors_carry_the_position(text: str, position: int) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    assert info.value.position == position


def test_guide_rule_loads_with_default_severity() -> None:
    (rule,) = load_rules(
        '[{"condition":"row_count > 0","query":"deny_rules_summary","label":"deny-rules-alert"}]'
    )
    assert rule.severity == "warning"
    assert rule.applies("deny_rules_summary", {"row_count": 1})
    assert not rule.applies("deny_rules_summary_x", {"row_count": 1})
    assert not rule.applies(None, {"row_count": 1})


def test_glob_queries() -> None:
    (rule,) = load_rules('[{"condition":"status >= 0","query":"firewall_*","label":"fw"}]')
    assert rule.matches_query("firewall_rules_by_zone")
    assert not rule.matches_query("topology_neighbors")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[{"condition":"row_count >","query":"q","label":"L1"}]', "SOAR rule #1 ('L1')"),
        ('[{"condition":"row_count >","query":"q","label":"L1"}]', "position 12"),
        ('[{"query":"q","label":"L"}]', "'condition'"),
        ('[{"condition":"status > 1","query":"q","label":"L","severity":"loud"}]', "severity"),
        ('[{"condition":"status > 1","query":"q","label":"L","when":1}]', "unknown field"),
        (
            '[{"condition":"status > 1","query":"q","label":"L"},'
            '{"condition":"status > 2","query":"q","label":"L"}]',
            "duplicate",
        ),
        ('{"condition":"status > 1"}', "JSON list"),
        ("[1]", "SOAR rule #1"),
        ("[", "not valid JSON"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(text: str, needle: str) -> None:
    with pytest.raises(RuleError) as info:
        load_rules(text)
    assert needle in str(info.value)


def test_second_rule_is_named() -> None:
    text = (
        '[{"condition":"status > 1","query":"q","label":"ok"},'
        '{"condition":"status > 1 or","query":"q","label":"broken"}]'
    )
    with pytest.raises(RuleError, match=r"#2 \('broken'\).*position 14"):
        load_rules(text)
