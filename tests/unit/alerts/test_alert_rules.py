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
        (
            "rules: [{name: a, query: q, key: [x], resolve_condition: 'x < 1'}]",
            "resolve_condition needs a condition",
        ),
        (
            "rules: [{name: a, query: q, key: [x], condition: 'x > 2', resolve_condition: 'x <'}]",
            "resolve_condition 'x <'",
        ),
        ("rules: [{name: a, query: q, key: [x], blast_labels: 'yes'}]", "blast_labels must be"),
        (
            "rules: [{name: a, query: interface_window, key: [x], params: {window: 30s}}]",
            "between 1m and 24h",
        ),
        (
            "rules: [{name: a, query: interface_window, key: [x], params: {top: 5}}]",
            "takes device, window, not top",
        ),
        ("rules: [{name: a, query: device_blast, key: [x], params: {depth: 9}}]", "1 to 6"),
        ("rules: [{name: a, query: device_blast, key: [x], params: {depth: true}}]", "1 to 6"),
        ("rules: [{name: a, query: device_redundancy, key: [x], params: {role: [1]}}]", "role"),
        ("rules: [{name: a, query: device_visibility, key: [x], params: {x: 1}}]", "takes"),
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


def test_hysteresis_and_the_local_questions() -> None:
    busy, blast, redundancy = load_rules(
        """
rules:
  - name: busy
    query: interface_window
    params: {window: 10m, device: edge1}
    key: [device, interface]
    condition: "util_pct > 80"
    resolve_condition: "util_pct < 70"
    blast_labels: true
  - name: blast
    query: device_blast
    key: [device]
    condition: "isolated_endpoints > 100"
  - name: redundancy
    query: device_redundancy
    params: {role: Access-Layer, depth: 2}
    key: [device]
    condition: "single_points > 0"
"""
    )
    assert busy.params == {"window_s": 600.0, "device": "edge1"}
    assert busy.blast_labels and not blast.blast_labels
    # over 80 fires; between 70 and 80, or unknown, holds an open alert; under 70 resolves it
    assert busy.matches({"util_pct": 81})
    assert not busy.matches({"util_pct": 75}) and busy.holds({"util_pct": 75})
    assert not busy.holds({"util_pct": 69.9})
    assert busy.holds({"util_pct": None})  # unknown: neither fires nor resolves
    assert not blast.holds({"isolated_endpoints": 5})  # no resolve_condition: never holds
    assert blast.params == {"depth": 3}
    assert redundancy.params == {"depth": 2, "role": "access_layer"}
    described = busy.describe()
    assert described["resolve_condition"] == "util_pct < 70" and described["blast_labels"]
