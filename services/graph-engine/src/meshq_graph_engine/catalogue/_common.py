"""Parameter types and row helpers shared by the catalogue modules.

Every parameter type normalises what it is given the way the model normalises its keys (so
``Gi1/0/1`` finds ``GigabitEthernet1/0/1`` and ``AABB.CCDD.EEFF`` finds ``aa:bb:cc:dd:ee:ff``)
and refuses anything that cannot be such a key: a value that fails here is a 422, and no
value ever reaches Cypher other than as a parameter. Optional filters use ``""`` for "any"
(LadybugDB types a null parameter badly), so Cypher reads ``$x = '' OR n.prop = $x``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Annotated, Any

from network_discovery.model import (
    canonical_interface_name,
    normalise_address,
    normalise_hostname,
    normalise_mac,
    normalise_network,
)
from pydantic import AfterValidator, Field

__all__ = [
    "CidrFilter",
    "CidrParam",
    "DeviceFilter",
    "DeviceName",
    "InterfaceParam",
    "IpParam",
    "MacParam",
    "SiteFilter",
    "VrfFilter",
    "interface_or_any",
    "ip_in",
    "ip_key",
    "network_key",
    "ordered",
]

_DEVICE_CHARS = re.compile(r"^[a-z0-9][a-z0-9._:@-]*$")
_INTERFACE_CHARS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")


def _device(value: str) -> str:
    name = normalise_hostname(value)
    if not _DEVICE_CHARS.match(name):
        raise ValueError(
            f"invalid device name {name[:40]!r}: use the device id as all_devices lists it "
            "(letters, digits and . _ - : @)"
        )
    return name


def _device_or_any(value: str) -> str:
    return value if value == "" else _device(value)


def _interface(value: str) -> str:
    name = canonical_interface_name(value)
    if not _INTERFACE_CHARS.match(name):
        raise ValueError(
            f"invalid interface name {name[:40]!r}: letters, digits and . _ : / - "
            "(any vendor spelling: Gi1/0/1, Et1, xe-0/0/1.0)"
        )
    return name


def interface_or_any(value: str) -> str:
    """An interface name, or empty for any."""
    return value if value == "" else _interface(value)


def _network_or_any(value: str) -> str:
    return value if value == "" else normalise_network(value)


DeviceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="A device id: its host name (case-insensitive), or chassis:<mac> / "
        "ip:<address> for a neighbour known without a name.",
        examples=["hq-core-01"],
    ),
    AfterValidator(_device),
]
DeviceFilter = Annotated[
    str,
    Field(
        default="",
        max_length=255,
        description="Only this device (its id, case-insensitive); empty for every device.",
        examples=["hq-core-01"],
    ),
    AfterValidator(_device_or_any),
]
InterfaceParam = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="Interface name in any vendor spelling (Gi1/0/1, Et1, xe-0/0/1.0); "
        "matched in canonical form.",
        examples=["GigabitEthernet1/0/1"],
    ),
    AfterValidator(_interface),
]
MacParam = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="MAC address in any common notation: aa:bb:cc:dd:ee:ff, "
        "AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or aabbccddeeff.",
        examples=["00:1b:54:0a:0b:0c"],
    ),
    AfterValidator(normalise_mac),
]
IpParam = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="An IPv4 or IPv6 host address, without prefix length.",
        examples=["10.10.10.101", "2001:db8:10::102"],
    ),
    AfterValidator(normalise_address),
]
CidrParam = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="A subnet in CIDR form, IPv4 or IPv6, host bits zero.",
        examples=["10.10.10.0/24", "2001:db8:10::/64"],
    ),
    AfterValidator(normalise_network),
]
CidrFilter = Annotated[
    str,
    Field(
        default="",
        max_length=64,
        description="Only addresses inside this CIDR (IPv4 or IPv6); empty for all.",
        examples=["10.0.0.0/8"],
    ),
    AfterValidator(_network_or_any),
]
SiteFilter = Annotated[
    str,
    Field(
        default="",
        max_length=64,
        pattern=r"^[\w .:/@-]*$",
        description="Only devices at this site (exact match); empty for every site.",
        examples=["hq"],
    ),
]
VrfFilter = Annotated[
    str,
    Field(
        default="",
        max_length=64,
        pattern=r"^[\w.:-]*$",
        description="Only this VRF ('default' for the global table); empty for every VRF.",
        examples=["default"],
    ),
]


def ip_key(text: str) -> tuple[int, int]:
    """Sort key of a host address: IPv4 before IPv6, then numerically."""
    address = ipaddress.ip_address(text)
    return (address.version, int(address))


def network_key(text: str) -> tuple[int, int, int]:
    network = ipaddress.ip_network(text, strict=False)
    return (network.version, int(network.network_address), network.prefixlen)


def ip_in(text: str, cidr: str) -> bool:
    """Whether host address ``text`` lies inside ``cidr`` (False across IP versions)."""
    address = ipaddress.ip_address(text)
    network = ipaddress.ip_network(cidr, strict=False)
    return address.version == network.version and address in network


def _none_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else 0)


def ordered(rows: Iterable[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """Rows sorted by ``keys`` (nulls last): the same order from every store."""
    return sorted(rows, key=lambda row: tuple(_none_last(row.get(k)) for k in keys))
