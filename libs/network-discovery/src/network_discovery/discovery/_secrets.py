"""Secrets by reference: an environment variable's name or a file's path, never the value.

A :class:`Secret` hides its value from ``repr``, ``str``, logs and pickling by accident; code
that needs the value calls :meth:`Secret.reveal` at the last moment (the SSH or SNMP client).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CredentialError", "Secret", "SecretRef"]


class CredentialError(ValueError):
    """A credential that cannot be resolved; the message names the reference, not the value."""


class Secret:
    """A resolved secret. Printing it shows ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not serialisable")


@dataclass(frozen=True)
class SecretRef:
    """Where a secret is read from: ``env`` (a variable name) or ``file`` (a path)."""

    env: str | None = None
    file: Path | None = None

    def __post_init__(self) -> None:
        if (self.env is None) == (self.file is None):
            raise CredentialError("a secret reference names exactly one of env or file")

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def resolve(self, environ: Mapping[str, str] | None = None) -> Secret:
        env = os.environ if environ is None else environ
        if self.env is not None:
            value = env.get(self.env)
            if not value:
                raise CredentialError(f"environment variable {self.env} is not set")
            return Secret(value)
        assert self.file is not None
        try:
            text = self.file.expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise CredentialError(f"cannot read secret file {self.file}: {reason}") from None
        value = text.strip("\r\n")
        if not value:
            raise CredentialError(f"secret file {self.file} is empty")
        return Secret(value)
