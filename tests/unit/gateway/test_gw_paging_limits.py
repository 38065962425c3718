"""Cursors of large answers, rate-limit route keys and settings, audit redaction."""

from __future__ import annotations

import pytest
from meshq_query_gateway.audit import redact
from meshq_query_gateway.ratelimit import RateLimiter, route_key
from meshq_query_gateway.routes.queries import _cursor, _offset
from meshq_query_gateway.settings import Settings, parse_rate
from meshq_runtime.http import ProblemError
from pydantic import ValidationError


def test_cursor_round_trip_and_refusals() -> None:
    assert _offset(_cursor("all_devices", 1000), "all_devices") == 1000
    assert _offset(None, "all_devices") == 0
    for bad, name in (("nope", "q"), (_cursor("other", 5), "all_devices")):
        with pytest.raises(ProblemError) as exc:
            _offset(bad, name)
        assert exc.value.status == 400 and exc.value.ext["errors"][0]["field"] == "cursor"


def test_route_keys_and_rates() -> None:
    assert route_key("post", "/queries/{name:str}") == "POST /queries/{name}"
    assert parse_rate("5/minute") == (5, 60) and parse_rate("10/second") == (10, 1)
    for bad in ("0/minute", "five/minute", "5/day", "5"):
        with pytest.raises(ValueError):
            parse_rate(bad)
    limiter = RateLimiter(None, {"POST /queries/{name:str}": "2/hour"})
    assert limiter.limit_for("POST /queries/{name}") == (2, 3600)


def test_rate_limit_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().rate_limits == {"POST /graph/chaos-simulate": "5/minute"}
    monkeypatch.setenv("MESHQ_RATE_LIMITS", '{"GET /queries": "100/minute"}')
    assert Settings().rate_limits == {
        "POST /graph/chaos-simulate": "5/minute",
        "GET /queries": "100/minute",
    }
    monkeypatch.setenv("MESHQ_RATE_LIMITS", '{"queries": "1/minute"}')
    with pytest.raises(ValidationError, match="METHOD /path"):
        Settings()


def test_secrets_in_parameters_are_redacted() -> None:
    params = {"device": "sw1", "api_token": "x", "nested": {"password": "p", "vlan": 10}}
    assert redact(params) == {
        "device": "sw1",
        "api_token": "[redacted]",
        "nested": {"password": "[redacted]", "vlan": 10},
    }
