"""Field types and enumerations shared by the model's entities and snapshot facts.

Each annotated type normalises what it is given (see :mod:`network_discovery.model.normalise`)
so that a model always holds the canonical spelling of its keys, whatever notation the source
used.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from network_discovery.model.normalise import (
    canonical_interface_name,
    normalise_address,
    normalise_asn,
    normalise_hostname,
    normalise_interface_address,
    normalise_mac,
    normalise_network,
)

__all__ = [
    "Asn",
    "BGPState",
    "Capabilities",
    "Criticality",
    "DeviceRef",
    "HostAddress",
    "InterfaceAddress",
    "InterfaceMode",
    "InterfaceName",
    "InterfaceStatus",
    "LinkEvidence",
    "MacAddress",
    "MacEntryType",
    "ModelBase",
    "NeighborProtocol",
    "Network",
    "Tags",
    "Text",
    "VlanId",
    "VlanList",
]


class ModelBase(BaseModel):
    """Frozen, strict about unknown fields, strings trimmed."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


# --- enumerations ---------------------------------------------------------------------


class Criticality(StrEnum):
    """How much it matters when the device fails (weights impact scores)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class InterfaceStatus(StrEnum):
    UP = "up"
    DOWN = "down"


class InterfaceMode(StrEnum):
    ACCESS = "access"
    TRUNK = "trunk"
    ROUTED = "routed"


class LinkEvidence(StrEnum):
    """Why the graph believes two interfaces are cabled together, strongest first."""

    LLDP_BOTH = "lldp_both"
    CDP_BOTH = "cdp_both"
    #: A layer-1 topology file the user keeps (cabling records, a lab's wiring).
    LAYER1_DECLARED = "layer1_declared"
    LLDP_ONE = "lldp_one"
    CDP_ONE = "cdp_one"
    NETBOX_DECLARED = "netbox_declared"
    MAC_ARP_INFERRED = "mac_arp_inferred"

    @property
    def default_confidence(self) -> float:
        return _CONFIDENCE[self]


_CONFIDENCE = {
    LinkEvidence.LLDP_BOTH: 1.0,
    LinkEvidence.CDP_BOTH: 1.0,
    LinkEvidence.LAYER1_DECLARED: 0.9,
    LinkEvidence.LLDP_ONE: 0.8,
    LinkEvidence.CDP_ONE: 0.8,
    LinkEvidence.NETBOX_DECLARED: 0.7,
    LinkEvidence.MAC_ARP_INFERRED: 0.5,
}


class BGPState(StrEnum):
    """The BGP finite-state-machine states (RFC 4271)."""

    IDLE = "idle"
    CONNECT = "connect"
    ACTIVE = "active"
    OPENSENT = "opensent"
    OPENCONFIRM = "openconfirm"
    ESTABLISHED = "established"


class NeighborProtocol(StrEnum):
    LLDP = "lldp"
    CDP = "cdp"


class MacEntryType(StrEnum):
    DYNAMIC = "dynamic"
    STATIC = "static"
    SECURE = "secure"
    OTHER = "other"


# --- annotated field types ------------------------------------------------------------


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _sorted_words(values: tuple[str, ...]) -> tuple[str, ...]:
    words = {"_".join(v.strip().lower().replace("-", " ").split()) for v in values}
    return tuple(sorted(w for w in words if w))


def _sorted_unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({v.strip() for v in values if v.strip()}))


def _sorted_vlans(values: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(set(values)))


#: Optional free text; an empty string counts as absent.
Text = Annotated[str | None, BeforeValidator(_blank_to_none)]

DeviceRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="The device's host name; compared case-insensitively (stored lower case).",
        examples=["hq-core-01"],
    ),
    AfterValidator(normalise_hostname),
]
InterfaceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="Interface name in any vendor spelling (Gi1/0/1, Et1, xe-0/0/1.0); "
        "stored in canonical form.",
        examples=["GigabitEthernet1/0/1"],
    ),
    AfterValidator(canonical_interface_name),
]
MacAddress = Annotated[
    str,
    Field(
        description="MAC address as aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or "
        "aabbccddeeff; stored lower case with colons.",
        examples=["00:1b:54:0a:0b:0c"],
    ),
    AfterValidator(normalise_mac),
]
HostAddress = Annotated[
    str,
    Field(description="IPv4 or IPv6 address, without prefix length.", examples=["10.1.10.25"]),
    AfterValidator(normalise_address),
]
InterfaceAddress = Annotated[
    str,
    Field(
        description="IPv4 or IPv6 address with its prefix length.",
        examples=["10.1.10.2/24", "2001:db8:64:a::2/64"],
    ),
    AfterValidator(normalise_interface_address),
]
Network = Annotated[
    str,
    Field(description="Subnet in CIDR form, host bits zero.", examples=["10.1.10.0/24"]),
    AfterValidator(normalise_network),
]
VlanId = Annotated[int, Field(ge=1, le=4094)]
VlanList = Annotated[tuple[VlanId, ...], AfterValidator(_sorted_vlans)]
Asn = Annotated[
    int,
    BeforeValidator(normalise_asn),
    Field(ge=1, le=4_294_967_295, description="AS number; asdot text (1.10) is accepted."),
]
#: Free-form labels, kept sorted and unique.
Tags = Annotated[tuple[str, ...], AfterValidator(_sorted_unique)]
#: What a neighbour says it is (LLDP/CDP capabilities) as lower-case words: ``bridge``,
#: ``router``, ``telephone``, ``wlan_access_point``, ``station``...; sorted and unique.
Capabilities = Annotated[tuple[str, ...], AfterValidator(_sorted_words)]
