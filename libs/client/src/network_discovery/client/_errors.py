"""What a call to the REST API can fail with, and the one reader of its problem answers.

Every refusal of the gateway is ``application/problem+json`` (RFC 9457): ``type``, ``title``,
``status``, ``detail``, and members that say more (``errors`` with one ``{field, message}`` per
parameter at fault, ``feature``, ``plan``, ``retry_after``, ...). :meth:`ApiError.from_response`
reads one (or any other error answer, JSON or not) into an :class:`ApiError`.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["ApiError", "ClientError", "FieldError", "StackNotFound", "UnexpectedAnswer"]

#: How much of an answer that is not a problem is quoted in the message.
TEXT_LIMIT = 300
#: How many field errors the message lists (all of them stay on ``errors``).
FIELDS_SHOWN = 5
_STANDARD = frozenset({"type", "title", "status", "detail", "instance", "errors"})


class ClientError(Exception):
    """A call to the REST API did not give an answer to use; the message is meant for the user."""


class StackNotFound(ClientError):
    """No REST API to talk to: nothing configured, or nothing answers at the configured URL.

    ``url`` is where it looked (None when no URL is set); ``reason`` names the transport error
    when something was tried (``ConnectError``, ``ReadTimeout``, ...)."""

    def __init__(self, message: str, *, url: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.reason = reason


class UnexpectedAnswer(ClientError):
    """The server answered, but not with what the REST API answers (not JSON, wrong shape):
    most often the configured URL is not the gateway."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FieldError:
    """One parameter at fault: its name (None when the problem names none) and why."""

    field: str | None
    message: str | None

    def __str__(self) -> str:
        if self.field and self.message:
            return f"{self.field}: {self.message}"
        return self.field or self.message or "?"


class ApiError(ClientError):
    """The REST API refused the call (4xx) or failed it (5xx), as its problem answer says."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type_: str = "about:blank",
        errors: tuple[FieldError, ...] = (),
        retry_after: float | None = None,
        extensions: Mapping[str, Any] | None = None,
        problem: bool = True,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = errors
        self.retry_after = retry_after
        #: The problem's other members: ``feature``, ``plan``, ``plans``, ``verb``, ...
        self.extensions: dict[str, Any] = dict(extensions or {})
        #: Whether the answer was a problem document (else ``detail`` quotes its text).
        self.problem = problem
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: ``STATUS: what to fix (field: why; ...) (retry in N s)``."""
        text = f"{self.status}: {self.detail or self.title}"
        if self.errors:
            shown = "; ".join(str(e) for e in self.errors[:FIELDS_SHOWN])
            more = len(self.errors) - FIELDS_SHOWN
            text += f" ({shown}{f'; {more} more' if more > 0 else ''})"
        if self.retry_after is not None:
            text += f" (retry in {self.retry_after:g} s)"
        return text

    @property
    def fields(self) -> list[str]:
        """The names of the parameters at fault."""
        return [e.field for e in self.errors if e.field]

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """Read an error answer (its body must have been read): a problem document, any other
        JSON object with ``title``/``detail``, or text (quoted, cut to 300 characters)."""
        reason = response.reason_phrase or "Error"
        retry_after = _retry_after(response.headers.get("Retry-After"))
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            text = " ".join(response.text.split())[:TEXT_LIMIT] if response.content else ""
            return cls(response.status_code, reason, text, retry_after=retry_after, problem=False)
        if retry_after is None:
            retry_after = _number(body.get("retry_after"))
        return cls(
            response.status_code,
            _text(body.get("title")) or reason,
            _text(body.get("detail")),
            type_=_text(body.get("type")) or "about:blank",
            errors=_field_errors(body.get("errors")),
            retry_after=retry_after,
            extensions={k: v for k, v in body.items() if k not in _STANDARD},
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(value)


def _field_errors(value: Any) -> tuple[FieldError, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for item in value:
        if isinstance(item, dict):
            field, message = item.get("field"), item.get("message")
            out.append(
                FieldError(
                    None if field is None else _text(field),
                    None if message is None else _text(message),
                )
            )
    return tuple(out)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, round(when.timestamp() - time.time()))
    return seconds if seconds >= 0 else None
