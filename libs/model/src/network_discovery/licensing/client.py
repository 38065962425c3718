"""The HTTP client of the license server: one signed validate request, one verified answer."""

from __future__ import annotations

import json
import time
from importlib import metadata
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from network_discovery.licensing import protocol
from network_discovery.licensing.errors import (
    AnswerTamperedError,
    ClockSkewError,
    DeviceLimitExceededError,
    LicenseError,
    LicenseExpiredError,
    LicenseInvalidError,
    LicenseNotFoundError,
    LicenseServerUnreachableError,
)

__all__ = ["DEFAULT_URL", "validate"]

DEFAULT_URL = "https://api.meshoptixiq.com"
#: The distribution this client ships in; its version is the ``client_version`` sent.
DISTRIBUTION = "meshoptixiq-model"


def client_version() -> str:
    """The installed version of :data:`DISTRIBUTION` (``0+unknown`` from a bare source tree)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def validate(
    key: str,
    *,
    url: str,
    public_key: rsa.RSAPublicKey,
    fingerprint: str,
    facts: dict[str, str],
    now: float | None = None,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Validate ``key`` for this fingerprint; the signed answer (verified) or an error.

    The proxy comes from the environment (``HTTPS_PROXY``, credentials in its URL).
    """
    body = json.dumps(
        {"fingerprint": fingerprint, "client_version": client_version(), **facts}, sort_keys=True
    ).encode()
    timestamp = str(int(now if now is not None else time.time()))
    nonce = protocol.new_nonce()
    secret = protocol.derive_secret(key)
    headers = {
        "Content-Type": "application/json",
        protocol.HEADER_KEY_ID: protocol.key_id(key),
        protocol.HEADER_TIMESTAMP: timestamp,
        protocol.HEADER_NONCE: nonce,
        protocol.HEADER_SIGNATURE: protocol.sign_request(
            secret, "POST", protocol.VALIDATE_PATH, timestamp, nonce, body
        ),
    }
    target = url.rstrip("/") + protocol.VALIDATE_PATH
    try:
        with httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            trust_env=True,
        ) as client:
            response = client.post(target, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise LicenseServerUnreachableError(
            f"license server {url} unreachable: {type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        error = _error_for(response)
        error.answer = _signed_refusal(response, public_key, nonce, fingerprint, headers)
        raise error
    try:
        answer = response.json()
    except ValueError as exc:
        raise AnswerTamperedError("license answer is not JSON") from exc
    payload = protocol.open_answer(public_key, answer)
    expected = {
        "nonce": nonce,
        "fingerprint": fingerprint,
        "key_id": headers[protocol.HEADER_KEY_ID],
    }
    for name, value in expected.items():
        if payload.get(name) != value:
            raise AnswerTamperedError(f"license answer is not for this request ({name})")
    return {"answer": answer, "payload": payload}


def _signed_refusal(
    response: httpx.Response,
    public_key: rsa.RSAPublicKey,
    nonce: str,
    fingerprint: str,
    headers: dict[str, str],
) -> dict[str, str] | None:
    """The refusal the server signed for this very request (same nonce, key, fingerprint), or
    None: an unsigned, altered or foreign one is dropped, the error itself stands."""
    if response.status_code not in (402, 403, 409):
        return None
    try:
        problem = response.json()
        answer = problem.get("answer") if isinstance(problem, dict) else None
        if answer is None:
            return None
        payload = protocol.open_answer(public_key, answer)
    except (ValueError, LicenseError):
        return None
    expected = {
        "nonce": nonce,
        "fingerprint": fingerprint,
        "key_id": headers[protocol.HEADER_KEY_ID],
    }
    if any(payload.get(k) != v for k, v in expected.items()) or not payload.get("refused"):
        return None
    return {"payload": answer["payload"], "signature": answer["signature"]}


def _error_for(response: httpx.Response) -> LicenseError:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    problem = problem if isinstance(problem, dict) else {}
    detail = str(problem.get("detail") or problem.get("title") or "")
    status = response.status_code
    if status == 404:
        return LicenseNotFoundError(detail or "license key not found")
    if status == 403:
        return LicenseInvalidError("invalid")
    if status == 402:
        return LicenseExpiredError(detail or "license expired")
    if status == 409:
        return DeviceLimitExceededError(
            registered=int(problem.get("devices_registered") or 0),
            allowed=int(problem.get("devices_allowed") or 0),
        )
    if status == 401:
        if problem.get("reason") == "clock_skew":
            return ClockSkewError(
                "clock skew: this machine's clock is more than 5 minutes from UTC;"
                " synchronise it with NTP"
            )
        return LicenseInvalidError(f"request rejected ({problem.get('reason', 'unauthorized')})")
    return LicenseServerUnreachableError(f"license server answered HTTP {status}")
