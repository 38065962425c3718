"""Webhook delivery: signed POSTs with retries (exponential backoff, full jitter, Retry-After)."""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import hmac
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Outcome",
    "RetryPolicy",
    "WebhookClient",
    "idempotency_key",
    "sign",
]

log = structlog.get_logger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_HEADER = "X-MeshQ-Signature"
TIMESTAMP_HEADER = "X-MeshQ-Timestamp"
MAX_RETRY_AFTER_S = 60.0  # stays well inside the consumer poll interval


def idempotency_key(audit_event_id: str, rule_label: str) -> str:
    """The same for every attempt and redelivery of one (audit event, rule) pair."""
    digest = hashlib.sha256(f"{audit_event_id}\x1f{rule_label}".encode()).hexdigest()
    return f"meshq-{digest[:40]}"


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``<timestamp>.<body>``."""
    mac = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def triggered_at(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_s: float = 0.5
    max_s: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**(attempt-1))]."""
        return random.uniform(0, min(self.max_s, self.base_s * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), MAX_RETRY_AFTER_S))


class WebhookClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        *,
        token: str | None,
        signing_key: str | None,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http, self._url, self._token = http, url, token
        self._key = (signing_key or token or "").encode()
        self._policy, self._sleep = policy, sleep

    def _headers(self, body: bytes, key: str) -> dict[str, str]:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: key,
            TIMESTAMP_HEADER: stamp,
            "User-Agent": "meshq-soar-dispatcher",
        }
        if self._key:
            headers[SIGNATURE_HEADER] = sign(self._key, stamp, body)
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    async def deliver(self, payload: dict[str, Any], key: str) -> Outcome:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        attempts = self._policy.max_attempts
        status: int | None = None
        error: str | None = None
        for attempt in range(1, attempts + 1):
            wait: float | None = None
            try:
                response = await self._http.post(
                    self._url, content=body, headers=self._headers(body, key)
                )
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"[:300]
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return Outcome(True, attempt, status, None)
                error = f"HTTP {status}"
                if status == 429:
                    wait = retry_after(response.headers.get("retry-after"))
                elif status < 500:
                    log.warning("soar.rejected", status=status, attempt=attempt)
                    return Outcome(False, attempt, status, f"{error}: rejected by the receiver")
            log.warning(
                "soar.delivery_failed",
                attempt=attempt,
                attempts=attempts,
                status=status,
                error=error,
            )
            if attempt < attempts:
                await self._sleep(wait if wait is not None else self._policy.backoff(attempt))
        return Outcome(False, attempts, status, f"{error}: retry budget of {attempts} spent")
