"""Routing tables: the routes each device reports, per VRF, with their next hops."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Literal, Self

from pydantic import Field, model_validator

from network_discovery.model import ids
from network_discovery.model.fields import (
    DeviceRef,
    HostAddress,
    InterfaceName,
    ModelBase,
    Network,
    Text,
)

__all__ = ["NextHop", "Route", "RouteProtocol"]


class RouteProtocol(StrEnum):
    """Where a route came from, in one vocabulary for every vendor (Junos ``Direct`` is
    ``connected``, NX-OS ``direct`` too; IOS ``L`` and Junos ``Local`` are ``local``)."""

    CONNECTED = "connected"
    LOCAL = "local"
    STATIC = "static"
    OSPF = "ospf"
    BGP = "bgp"
    EIGRP = "eigrp"
    ISIS = "isis"
    RIP = "rip"
    AGGREGATE = "aggregate"
    OTHER = "other"


class NextHop(ModelBase):
    """Where a route sends packets: a gateway address, an outgoing interface, or both."""

    address: HostAddress | None = None
    interface: InterfaceName | None = None
    vrf: Text = Field(default=None, description="Next hop in another VRF (route leaking).")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.address is None and self.interface is None:
            raise ValueError("a next hop needs an address, an interface or both")
        return self


class Route(ModelBase):
    """One route of a device's routing table (the routes in use; several next hops: ECMP)."""

    device: DeviceRef
    vrf: Text = Field(default=None, description="None for the default (global) table.")
    prefix: Network
    protocol: RouteProtocol
    next_hops: tuple[NextHop, ...] = Field(
        default=(), description="Empty for a discard (null) route."
    )
    distance: int | None = Field(
        default=None, ge=0, le=255, description="Administrative distance / preference."
    )
    metric: int | None = Field(default=None, ge=0)
    tag: Text = None
    origin: Literal["collected", "derived"] = Field(
        default="collected",
        description="collected: from a routing table the device printed (show ip route); "
        "derived: worked out from the configurations (connected subnets, static routes, "
        "OSPF and BGP over every device read), used for forwarding only where no routing "
        "table of the device was read; where one was, it is kept to show disagreements.",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_vrf(cls, data: object) -> object:
        if isinstance(data, dict) and str(data.get("vrf") or "").strip() == ids.DEFAULT_VRF:
            data = {**data, "vrf": None}
        return data

    @property
    def id(self) -> str:
        return ids.route_id(self.device, self.prefix, self.protocol, self.vrf, self.origin)

    @property
    def prefix_length(self) -> int:
        return int(self.prefix.split("/", 1)[1])

    @property
    def version(self) -> int:
        return ipaddress.ip_network(self.prefix).version

    @property
    def vrf_name(self) -> str:
        """The VRF, ``default`` for the global table."""
        return self.vrf or ids.DEFAULT_VRF
