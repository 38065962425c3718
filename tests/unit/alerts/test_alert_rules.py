"""Alert rules from YAML: the fields, the shared no-eval condition grammar, precise errors."""

from __future__ import annotations

import pytest
from meshq_alerts.rules import RuleError, load_rules, parse_duration, render
from meshq_runtime.conditions import ConditionSyntaxError, parse_condition

RULES = """
rules:
  - name: uplink-busy
    query: link_utilization
    params: {top: 50}
    key: [a_device, a_interface]
    condition: "utilization_pct > 80.5 and (in_errors > 0 or out_errors >= 10)"
    for: 10m
    resolve_after: 1m30s
    severity: HIGH
    labels: {team: netops}
    summary: "{a_device} {a_interface} at {utilization_pct}%"
  - name: link-lost
    query: topology_edges
    key: [a_device, a_interface, b_device, b_interface]
    when: absent
"""


def test_rules_load_with_every_field() -> None:
    busy, lost = load_rules(RULES)
    assert busy.name == "uplink-busy"
    assert busy.params == {"top": 50}
    assert busy.key == ("a_device", "a_interface")
    assert busy.for_s == 600 and busy.resolve_after_s == 90
    assert busy.severity == "high"
    assert busy.labels == {"team": "netops"}
    row = {
        "a_device": "sw1",
        "a_interface": "Et1",
        "utilization_pct": 91.0,
        "in_errors": 0,
        "out_errors": 12,
    }
    assert busy.matches(row)
    assert not busy.matches({**row, "utilization_pct": 80.5})
    assert not busy.matches({**row, "out_errors": 9})
    assert render(busy.summary, row) == "sw1 Et1 at 91.0%"
    assert lost.when == "absent" and lost.condition is None and lost.severity == "warning"
    assert lost.key_of({"a_device": "a", "a_interface": "1", "b_device": "b"}) is None
    assert lost.key_of(
        {"a_device": "a", "a_interface": "1", "b_device": "b", "b_interface": 2}
    ) == ("a", "1", "b", "2")


def test_unknown_or_null_values_never_fire() -> None:
    condition = parse_condition("utilization_pct > 10", decimals=True)
    assert not condition({})
    assert not condition({"utilization_pct": None})
    assert not condition({"utilization_pct": "95"})  # text is not a number
    assert condition({"utilization_pct": 10.01})
    managed = parse_condition("managed == 0")
    assert managed({"managed": False}) and not managed({"managed": True})
    assert not condition({"utilization_pct": float("nan")})
    assert condition({"utilization_pct": 10.01})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [{name: a, query: q}]", "key must list"),
        ("rules: [{name: a, query: q, key: [x], when: sometimes}]", "when must be"),
        ("rules: [{name: a, query: q, key: [x], severity: urgent}]", "severity must be"),
        ("rules: [{name: a, query: q, key: [x], for: soon}]", "expected a duration"),
        ("rules: [{name: a, query: q, key: [x], for: 40d}]", "between 0 and 30 days"),
        ("rules: [{name: a, query: q, key: [x], condition: 'x >'}]", "at position 4"),
        ("rules: [{name: a, query: q, key: [x], condition: '__import__(1)'}]", "operator"),
        ("rules: [{name: a, query: 'q; DROP', key: [x]}]", "catalogue query name"),
        ("rules: [{name: a, query: q, key: [x], labels: {alertname: z}}]", "label 'alertname'"),
        ("rules: [{name: a, query: q, key: [x], labels: {'bad-name': z}}]", "label 'bad-name'"),
        ("rules: [{name: a, query: q, key: [x], summary: '{x.__class__}'}]", "placeholders"),
        ("rules: [{name: a, query: q, key: [x], bogus: 1}]", "unknown field(s) bogus"),
        (
            "rules: [{name: a, query: q, key: [x], when: absent, condition: 'x > 1'}]",
            "takes no condition",
        ),
        ("rules: [{name: a, query: q, key: [x]}, {name: a, query: q, key: [x]}]", "duplicate"),
        ("rules: [a", "not valid YAML at line 1"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_rules_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        load_rules(text, origin="rules.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("rules.yaml")


def test_durations() -> None:
    assert parse_duration("1h30m", "x") == 5400
    assert parse_duration("2d", "x") == 172800
    assert parse_duration(45, "x") == 45
    with pytest.raises(RuleError):
        parse_duration(True, "x")


def test_condition_grammar_is_bounded_and_typed() -> None:
    with pytest.raises(ConditionSyntaxError, match="more than 64"):
        parse_condition(" or ".join(["a > 1"] * 65))
    with pytest.raises(ConditionSyntaxError, match="an integer"):
        parse_condition("row_count > 1.5", {"row_count"})
    with pytest.raises(ConditionSyntaxError, match="one of row_count"):
        parse_condition("rows > 1", {"row_count"})
    with pytest.raises(ConditionSyntaxError, match="longer than"):
        parse_condition("a > 1" + " " * 3000)
