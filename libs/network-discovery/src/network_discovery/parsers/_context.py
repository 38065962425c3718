"""What a row mapper knows about the device whose output it reads, and what it yields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import FactKind

__all__ = ["DeviceContext", "MissingContext", "Partial", "junos_local_as"]


class MissingContext(ValueError):
    """A record that cannot become a fact without something the output does not print (the
    local AS of a Junos BGP summary): the kind is left out with a warning, not an error."""


#: Where Junos prints the local AS: ``show bgp neighbor`` (text, JSON, XML) and the
#: configuration (``autonomous-system 64520;``, ``set routing-options autonomous-system``).
_JUNOS_LOCAL_AS = (
    re.compile(r'"local-as"\s*:\s*\[\s*\{\s*"data"\s*:\s*"(\d+)'),
    re.compile(r"<local-as>\s*(\d+)\s*</local-as>"),
    re.compile(r"\bLocal: \S+ AS (\d+)"),
    re.compile(r"^\s*(?:set routing-options )?autonomous-system (\d+)\b", re.M),
)


def junos_local_as(texts: list[str]) -> str | None:
    """The local AS number that any of a Junos device's outputs tells, if one does."""
    for pattern in _JUNOS_LOCAL_AS:
        for text in texts:
            found = pattern.search(text)
            if found:
                return found[1]
    return None


@dataclass
class DeviceContext:
    """The device being parsed: its id, its platform and its meta.yaml."""

    device: str
    platform: str
    meta: dict[str, Any] = field(default_factory=dict)
    #: VLAN name -> tag, from the device's VLAN table (Junos MAC tables name VLANs).
    vlan_tags: dict[str, int] = field(default_factory=dict)
    #: The local AS where an output other than the BGP summary tells it (Junos).
    local_asn: str | None = None
    #: What its configuration says about routing protocols (a ``RoutingConfig``), for the
    #: routes worked out over the whole network once every device is read.
    routing: Any = None


@dataclass(frozen=True)
class Partial:
    """Part of a fact: ``kind`` says which list it belongs to. Interface and device facts
    come from several commands and are merged by key before they become models; every
    other kind is one complete model in ``value``."""

    kind: FactKind
    value: Any
    key: str | None = None
