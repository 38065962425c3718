"""The envelope every event travels in.

An event is a frozen pydantic model: the envelope fields (``id``, ``type``, ``version``,
``source``, ``time``, ``subject``, ``correlation_id``) plus a typed ``data`` payload. Each
concrete event pins ``type`` to a ``Literal`` so that a topic's events form one
discriminated union (see :mod:`network_discovery.contracts.events`).
"""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EventBase", "Payload", "new_event_id", "utcnow"]


def new_event_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Payload(BaseModel):
    """Base of every event's ``data``: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EventBase(BaseModel):
    """Fields shared by every event. Subclasses add ``type: Literal[...]`` and ``data``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The topic this event type is published on (not serialised).
    topic: ClassVar[str]

    id: str = Field(default_factory=new_event_id, min_length=1, max_length=64)
    type: str
    version: int = Field(default=1, ge=1)
    source: str = Field(min_length=1, max_length=64, description="The service that produced it.")
    time: datetime = Field(default_factory=utcnow)
    subject: str = Field(
        default="",
        max_length=512,
        description="What the event is about (a device, a query, a tenant); also the record key.",
    )
    correlation_id: str = Field(default_factory=new_event_id, min_length=1, max_length=128)
    data: Any

    def key(self) -> bytes:
        """The partition key: the subject, else the event id."""
        return (self.subject or self.id).encode()

    def follow_up(self, cls: builtins.type[EventBase], **fields: Any) -> Any:
        """Build an event caused by this one: same correlation id."""
        fields.setdefault("correlation_id", self.correlation_id)
        return cls(**fields)
