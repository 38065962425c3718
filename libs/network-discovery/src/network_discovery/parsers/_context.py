"""What a row mapper knows about the device whose output it reads, and what it yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import FactKind

__all__ = ["DeviceContext", "Partial"]


@dataclass
class DeviceContext:
    """The device being parsed: its id, its platform and its meta.yaml."""

    device: str
    platform: str
    meta: dict[str, Any] = field(default_factory=dict)
    #: VLAN name -> tag, from the device's VLAN table (Junos MAC tables name VLANs).
    vlan_tags: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Partial:
    """Part of a fact: ``kind`` says which list it belongs to. Interface and device facts
    come from several commands and are merged by key before they become models; every
    other kind is one complete model in ``value``."""

    kind: FactKind
    value: Any
    key: str | None = None
