"""What can go wrong talking to NetBox, with enough detail to fix it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FieldError", "NetBoxError", "NetBoxUnavailable", "NetBoxValidationError"]


class NetBoxError(Exception):
    """NetBox answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NetBoxUnavailable(NetBoxError):
    """NetBox kept answering 429/5xx (or not at all) after every retry."""


@dataclass(frozen=True)
class FieldError:
    """One object NetBox refused, and why: ``field`` is ``__all__`` for object-wide errors."""

    endpoint: str
    label: str
    field: str
    messages: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.label}: {self.field}: {' '.join(self.messages)}"


class NetBoxValidationError(NetBoxError):
    """NetBox refused some objects of a write (HTTP 400), naming each object and field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors), status=400)
        self.errors = errors
