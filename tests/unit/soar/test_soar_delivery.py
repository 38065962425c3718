"""Webhook delivery policy, against httpx's mock transport (the real receiver is in integration)."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest
from meshq_soar_dispatcher.delivery import (
    RetryPolicy,
    WebhookClient,
    idempotency_key,
    retry_after,
    sign,
)


def _client(answers: list, sleeps: list[float], **kw) -> tuple[WebhookClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(s: float) -> None:
        sleeps.append(s)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    client = WebhookClient(
        http,
        "http://soar/hook",
        token=kw.get("token", "tok"),
        signing_key=kw.get("key"),
        policy=RetryPolicy(kw.get("attempts", 4), 0.1, 1.0),
        sleep=sleep,
    )
    return client, seen


async def test_network_errors_and_5xx_retry_then_deliver() -> None:
    sleeps: list[float] = []
    client, seen = _client(
        [httpx.ConnectError("down"), httpx.Response(502), httpx.Response(200)], sleeps
    )
    outcome = await client.deliver({"a": 1}, "k1")
    assert outcome.delivered and outcome.attempts == 3
    assert len(sleeps) == 2 and all(0 <= s <= 1.0 for s in sleeps)
    assert {r.headers["Idempotency-Key"] for r in seen} == {"k1"}


async def test_429_honours_retry_after() -> None:
    sleeps: list[float] = []
    client, _ = _client(
        [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(204)], sleeps
    )
    assert (await client.deliver({}, "k")).delivered
    assert sleeps == [7.0]


async def test_4xx_is_not_retried() -> None:
    sleeps: list[float] = []
    client, seen = _client([httpx.Response(403)], sleeps)
    outcome = await client.deliver({}, "k")
    assert not outcome.delivered and outcome.status_code == 403 and len(seen) == 1
    assert sleeps == []


async def test_budget_spent() -> None:
    sleeps: list[float] = []
    client, _ = _client([httpx.Response(500)] * 4, sleeps, attempts=4)
    outcome = await client.deliver({}, "k")
    assert not outcome.delivered and outcome.attempts == 4 and "budget" in (outcome.error or "")


async def test_signature_uses_signing_key_over_timestamp_and_body() -> None:
    client, seen = _client([httpx.Response(200)], [], key="sign-key")
    await client.deliver({"b": 2, "a": 1}, "k")
    (request,) = seen
    stamp = request.headers["X-MeshQ-Timestamp"]
    mac = hmac.new(b"sign-key", stamp.encode() + b"." + request.content, hashlib.sha256)
    assert request.headers["X-MeshQ-Signature"] == "sha256=" + mac.hexdigest()
    assert request.headers["Authorization"] == "Bearer tok"
    assert sign(b"sign-key", stamp, request.content) == request.headers["X-MeshQ-Signature"]


def test_idempotency_key_is_stable_per_event_and_rule() -> None:
    assert idempotency_key("e1", "r") == idempotency_key("e1", "r")
    assert idempotency_key("e1", "r") != idempotency_key("e1", "s")
    assert idempotency_key("e1", "r") != idempotency_key("e2", "r")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("100000", 60.0),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_after_parsing(value: str | None, expected: float | None) -> None:
    assert retry_after(value) == expected
