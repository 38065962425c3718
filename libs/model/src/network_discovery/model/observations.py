"""Raw observations a snapshot carries, from which the graph derives links and endpoints.

A neighbour entry (LLDP or CDP) says what one device sees on one of its ports; links come
from matching entries across both ends. ARP and MAC-table entries place endpoints on edge
ports and give them their IPs. None of these is a graph entity itself.
"""

from __future__ import annotations

import re
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

__all__ = [
    "PORT_ID_SUBTYPES",
    "ArpEntry",
    "MacTableEntry",
    "NeighborObservation",
    "lldp_port",
    "looks_like_port_name",
    "port_id_subtype",
]

#: LLDP port-id subtypes (IEEE 802.1AB; LLDP-MIB ``LldpPortIdSubtype`` numbers them 1-7 in
#: this order). Only ``interface_name`` and ``interface_alias`` name the port for sure; a
#: ``locally_assigned`` id is what the sender chose (often its ifIndex), a ``mac_address`` or
#: ``network_address`` names no port.
PORT_ID_SUBTYPES = (
    "interface_alias",
    "port_component",
    "mac_address",
    "network_address",
    "interface_name",
    "agent_circuit_id",
    "locally_assigned",
)
_SUBTYPE_WORDS = {
    "interfacealias": "interface_alias",
    "alias": "interface_alias",
    "portcomponent": "port_component",
    "macaddress": "mac_address",
    "mac": "mac_address",
    "networkaddress": "network_address",
    "address": "network_address",
    "interfacename": "interface_name",
    "ifname": "interface_name",
    "agentcircuitid": "agent_circuit_id",
    "locallyassigned": "locally_assigned",
    "local": "locally_assigned",
    "locallyassignedportid": "locally_assigned",
}
#: An interface name as vendors print them: Ethernet1/1, Gi0/0, xe-0/0/0.0, ae0, swp1, eth0,
#: Port-channel10, mgmt0 — a word, then numbers.
_PORT_NAME = re.compile(r"^[A-Za-z][A-Za-z_-]*\s?-?\d+(?:[/.:]\d+)*(?:\.\d+)?$")


def port_id_subtype(value: object) -> str | None:
    """The subtype as one of :data:`PORT_ID_SUBTYPES`, from its number (LLDP-MIB), a name as
    a vendor prints it ("Interface name", "Locally assigned", "interfaceName", "local"), or
    None when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        return PORT_ID_SUBTYPES[number - 1] if 1 <= number <= len(PORT_ID_SUBTYPES) else None
    word = re.sub(r"[^a-z]", "", str(value).lower())
    return _SUBTYPE_WORDS.get(word)


def looks_like_port_name(value: str | None) -> bool:
    """Whether a port id or description reads as an interface name (not an ifIndex, a MAC
    or free text)."""
    if not value:
        return False
    return bool(_PORT_NAME.match(value.strip())) and not normalise_mac_safe(value)


def lldp_port(
    port_id: str | None, subtype: object, description: str | None
) -> tuple[str | None, str | None, str | None]:
    """What an LLDP entry says of the far port: ``(name, raw id, subtype)``.

    The id names the port when its subtype says so (interface name or alias). A locally
    assigned id (or, with no subtype, a bare number) is the sender's choice, often its
    ifIndex: the port description names the port if it reads as an interface name (Junos
    sends ``xe-0/0/0`` there), else the port stays unnamed and the raw id is kept apart, to
    be matched against the far device's ifIndex. A MAC or address id (a host's NIC) is kept
    as the port unless the description names one.
    """
    kind = port_id_subtype(subtype)
    port = port_id.strip() if port_id and port_id.strip() else None
    desc = description.strip() if description and description.strip() else None
    if port is None:
        return desc, None, kind
    if kind in ("interface_name", "interface_alias"):
        return port, None, kind
    if kind == "locally_assigned" or (kind is None and port.isdigit()):
        named = desc if looks_like_port_name(desc) else None
        if named is None and looks_like_port_name(port):
            named = port  # a name sent as a locally assigned id
        return named, (None if port == named else port), kind
    if kind in ("mac_address", "network_address") and looks_like_port_name(desc):
        return desc, port, kind
    # a MAC or address of a host's NIC still tells that NIC apart (phones, servers)
    return port, None, kind


def normalise_mac_safe(value: str) -> bool:
    try:
        normalise_mac(value)
    except ValueError:
        return False
    return True


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
    remote_port_id: Text = Field(
        default=None,
        max_length=255,
        description="The port id as sent when it does not name the port (an ifIndex sent as "
        "a locally assigned id, a MAC): kept so that a link can be matched by it, never used "
        "as an interface name.",
    )
    remote_port_id_subtype: Text = Field(
        default=None, description="LLDP port-id subtype: " + ", ".join(PORT_ID_SUBTYPES) + "."
    )
    remote_chassis_id: Text = None
    remote_management_address: HostAddress | None = None
    remote_description: Text = Field(
        default=None, description="System description (LLDP) or software version (CDP)."
    )
    remote_platform: Text = Field(default=None, description="CDP platform, e.g. cisco C9300-48P.")
    capabilities: Capabilities = ()

    @field_validator("remote_port_id_subtype")
    @classmethod
    def _subtype(cls, value: str | None) -> str | None:
        if value is None:
            return None
        known = port_id_subtype(value)
        if known is None:
            raise ValueError(f"unknown LLDP port-id subtype {value!r}")
        return known

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
