"""The license verifier: key resolution, signed validation, the 24 h cache and 72 h grace.

Import it as ``from network_discovery.licensing import verifier``: production builds compile
this module with Cython and that import loads the compiled module ahead of this file.

Environment:
- ``MESHOPTIXIQ_LICENSE_KEY``, else the first non-empty line of ``~/.meshoptixiq/license.key``,
  else the Community plan;
- ``MESHOPTIXIQ_LICENSE_URL`` (default ``https://api.meshoptixiq.com``);
- ``MESHOPTIXIQ_LICENSE_PUBLIC_KEY``: PEM text or a path to a PEM file (default the vendor's).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import structlog

from network_discovery.licensing import client, protocol
from network_discovery.licensing.errors import (
    AnswerTamperedError,
    ClockSkewError,
    DeviceLimitExceededError,
    LicenseError,
    LicenseExpiredError,
    LicenseNotFoundError,
    LicenseServerUnreachableError,
)
from network_discovery.licensing.fingerprint import VENDOR_PUBLIC_KEY_PEM, fingerprint, host_facts
from network_discovery.licensing.sealed import FileCache
from network_discovery.licensing.state import (
    error_status,
    evaluate,
    is_due,
    plain_status,
)

__all__ = [
    "KEY_ENV",
    "PUBLIC_KEY_ENV",
    "URL_ENV",
    "Verifier",
    "get_features",
    "get_plan",
    "get_status",
    "public_key_pem",
    "resolve_key",
]

log = structlog.get_logger(__name__)

KEY_ENV = "MESHOPTIXIQ_LICENSE_KEY"
URL_ENV = "MESHOPTIXIQ_LICENSE_URL"
PUBLIC_KEY_ENV = "MESHOPTIXIQ_LICENSE_PUBLIC_KEY"

#: Hard answers: the cached state is dropped and Community applies.
_HARD = {
    LicenseNotFoundError: "not_found",
    LicenseExpiredError: "expired",
    DeviceLimitExceededError: "device_limit",
}


def home_dir():
    return Path.home() / ".meshoptixiq"


def resolve_key(environ=None):
    """The license key: the environment variable, else the key file's first non-empty line."""
    env = environ if environ is not None else os.environ
    value = env.get(KEY_ENV, "").strip()
    if value:
        return value
    try:
        text = (home_dir() / "license.key").read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


def public_key_pem(environ=None):
    env = environ if environ is not None else os.environ
    value = env.get(PUBLIC_KEY_ENV, "").strip()
    if not value:
        return VENDOR_PUBLIC_KEY_PEM
    if value.startswith("-----BEGIN"):
        return value
    return Path(value).expanduser().read_text(encoding="utf-8")


class Verifier:
    """Validates a key against the license server and keeps the result in a sealed file.

    Everything is injectable for tests and embedding: ``key`` (``None`` resolves it from the
    environment), ``url``, ``public_key`` (PEM), ``state_path``, ``clock`` (seconds since the
    epoch), ``facts`` (host facts) and an httpx ``transport``.
    """

    def __init__(
        self,
        *,
        key=None,
        url=None,
        public_key=None,
        state_path=None,
        clock=None,
        facts=None,
        transport=None,
        timeout=10.0,
        environ=None,
    ):
        env = environ if environ is not None else os.environ
        self.key = key if key is not None else resolve_key(env)
        self.url = url or env.get(URL_ENV, "").strip() or client.DEFAULT_URL
        self._public_key = protocol.load_public_key(public_key or public_key_pem(env))
        self.state_path = Path(state_path) if state_path else home_dir() / "license.state"
        self.clock = clock or time.time
        self.facts = facts if facts is not None else host_facts()
        self.fingerprint = fingerprint(self.facts)
        self.transport = transport
        self.timeout = timeout

    def _cache(self):
        return FileCache(self.state_path, self.key or "", self.fingerprint)

    def cached(self):
        """The cached record when it is genuine (signature, key and fingerprint), else None."""
        if not self.key:
            return None
        cache = self._cache()
        record = cache.load()
        if record is None:
            return None
        try:
            payload = protocol.open_answer(self._public_key, record.get("answer"))
            if (
                payload.get("key_id") != protocol.key_id(self.key)
                or payload.get("fingerprint") != self.fingerprint
            ):
                raise AnswerTamperedError("cached answer is for another key or device")
            last = float(record["last_success"])
        except (LicenseError, KeyError, TypeError, ValueError):
            log.warning("license.cache_discarded", reason="not a genuine answer")
            cache.clear()
            return None
        return payload, last

    def peek(self):
        """The status from the cache alone, without contacting the server."""
        if not self.key:
            return plain_status("community", "community", self.fingerprint)
        record = self.cached()
        if record is None:
            return plain_status(
                "community", "unverified", self.fingerprint, "license not validated yet"
            )
        return evaluate(record[0], record[1], self.clock())

    def validate(self):
        """Ask the server now; cache and return the verified payload, or raise."""
        if not self.key:
            raise LicenseNotFoundError("no license key (Community plan)")
        now = self.clock()
        result = client.validate(
            self.key,
            url=self.url,
            public_key=self._public_key,
            fingerprint=self.fingerprint,
            facts=self.facts,
            now=now,
            timeout=self.timeout,
            transport=self.transport,
        )
        self._cache().save({"answer": result["answer"], "last_success": now})
        log.info("license.validated", plan=result["payload"].get("plan"))
        return result["payload"]

    def status(self, refresh=False):
        """The license now: validates when ``refresh``, when nothing is cached, or when due."""
        if not self.key:
            return plain_status("community", "community", self.fingerprint)
        record = self.cached()
        now = self.clock()
        if not refresh and record is not None and not is_due(record[1], now):
            return evaluate(record[0], record[1], now)
        try:
            payload = self.validate()
        except (LicenseServerUnreachableError, ClockSkewError, AnswerTamperedError) as exc:
            log.warning("license.validation_failed", error=type(exc).__name__)
            if record is None:
                status = error_status("unverified", exc, self.fingerprint)
                return status
            return evaluate(record[0], record[1], now, message=str(exc))
        except LicenseError as exc:
            log.warning("license.rejected", error=type(exc).__name__)
            self._cache().clear()
            return error_status(_HARD.get(type(exc), "invalid"), exc, self.fingerprint)
        return evaluate(payload, now, now)

    def verify(self, refresh=False):
        """Like :meth:`status`, but raise the server's error instead of answering Community."""
        status = self.status(refresh=refresh)
        if status.error is not None and status.status != "unverified":
            raise status.error
        return status


def get_status(refresh=False):
    """The license status of this machine (environment, key file, file cache)."""
    return Verifier().status(refresh=refresh)


def get_plan():
    """The plan in force: "community" | "starter" | "pro" | "enterprise"."""
    return get_status().plan


def get_features():
    """Feature flags and device limits of the plan in force."""
    return dict(get_status().features)
