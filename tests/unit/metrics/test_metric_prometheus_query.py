"""What the Prometheus reader sends: label matchers encoded, never pasted."""

from __future__ import annotations

import pytest
from network_discovery.metrics.prometheus import _matchers


def test_values_are_escaped_inside_their_quotes() -> None:
    assert _matchers({"job": "snmp", "site": 'a"} or vector(1) #\\'}) == (
        '{job="snmp",site="a\\"} or vector(1) #\\\\"}'
    )
    assert _matchers({}) == "{}"


@pytest.mark.parametrize("name", ["", "1a", "a-b", 'job"}', "__name__"])
def test_label_names_are_checked(name: str) -> None:
    with pytest.raises(ValueError, match="label name"):
        _matchers({name: "x"})
