"""Raw observations a snapshot carries, from which the graph derives links and endpoints.

A neighbour entry (LLDP or CDP) says what one device sees on one of its ports; links come
from matching entries across both ends. ARP and MAC-table entries place endpoints on edge
ports and give them their IPs. None of these is a graph entity itself.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from network_discovery.model import ids
from network_discovery.model.fields import (
    Capabilities,
    DeviceRef,
    HostAddress,
    InterfaceName,
    MacAddress,
    MacEntryType,
    ModelBase,
    NeighborProtocol,
    Text,
    VlanId,
)
from network_discovery.model.normalise import normalise_mac

__all__ = ["ArpEntry", "MacTableEntry", "NeighborObservation"]


class NeighborObservation(ModelBase):
    """One LLDP or CDP neighbour entry, as seen from the local device's port.

    ``remote_port`` is canonicalised like every interface name (``Gi1/0/2`` ->
    ``GigabitEthernet1/0/2``); port ids that are not interface names (a MAC, ``Port 1``)
    are kept as sent. ``remote_chassis_id`` is normalised when it is a MAC.
    """

    protocol: NeighborProtocol
    device: DeviceRef = Field(description="The local device, which reported the entry.")
    interface: InterfaceName = Field(description="The local port the neighbour is seen on.")
    remote_system_name: Text = Field(
        default=None, max_length=255, description="System name (LLDP) or device id (CDP)."
    )
    remote_port: InterfaceName | None = Field(default=None, description="Port id of the peer.")
    remote_port_description: Text = None
    remote_chassis_id: Text = None
    remote_management_address: HostAddress | None = None
    remote_description: Text = Field(
        default=None, description="System description (LLDP) or software version (CDP)."
    )
    remote_platform: Text = Field(default=None, description="CDP platform, e.g. cisco C9300-48P.")
    capabilities: Capabilities = ()

    @field_validator("remote_chassis_id")
    @classmethod
    def _chassis(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_mac(value)
        except ValueError:
            return value

    @model_validator(mode="after")
    def _check_remote(self) -> Self:
        if not (self.remote_system_name or self.remote_chassis_id):
            raise ValueError(
                f"neighbour on {self.device} {self.interface}: "
                "give remote_system_name or remote_chassis_id"
            )
        return self

    @property
    def local_interface_id(self) -> str:
        return ids.interface_id(self.device, self.interface)

    @property
    def remote_device_id(self) -> str:
        """The id of the device the entry points at, as far as the entry alone tells."""
        return ids.device_id(
            self.remote_system_name,
            chassis_id=self.remote_chassis_id,
            management_ip=self.remote_management_address,
        )

    @property
    def id(self) -> str:
        port = self.remote_port or ""
        return f"{self.local_interface_id}|{self.protocol}|{self.remote_device_id}|{port}"


class ArpEntry(ModelBase):
    """An IP-to-MAC binding from a device's ARP (or IPv6 neighbour) table."""

    device: DeviceRef
    interface: InterfaceName | None = Field(default=None, description="Usually an SVI.")
    ip: HostAddress
    mac: MacAddress
    vrf: Text = None

    @property
    def id(self) -> str:
        return f"{self.device}|arp|{self.vrf or ids.DEFAULT_VRF}|{self.ip}"


class MacTableEntry(ModelBase):
    """A MAC address learned on a switch port (MAC address table, Junos ethernet-switching)."""

    device: DeviceRef
    interface: InterfaceName
    vlan: VlanId | None = None
    mac: MacAddress
    type: MacEntryType = MacEntryType.DYNAMIC

    @property
    def id(self) -> str:
        return f"{self.device}|mac|{self.vlan or 0}|{self.mac}"
