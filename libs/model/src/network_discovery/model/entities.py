"""The entities of the network graph.

Devices, their interfaces and the links between them; the addresses, subnets and VLANs
configured on them; the endpoints seen behind access ports; BGP sessions. Every entity has an
``id`` property derived from its natural key (see :mod:`network_discovery.model.ids`); the id
is not a field, so a model serialises and validates back to itself.
Firewall policy is in :mod:`network_discovery.model.firewall`, routing tables in
:mod:`network_discovery.model.routing`.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator, model_validator

from network_discovery.model import ids
from network_discovery.model.fields import (
    Asn,
    BGPState,
    Capabilities,
    Criticality,
    DeviceRef,
    HostAddress,
    InterfaceAddress,
    InterfaceMode,
    InterfaceName,
    InterfaceStatus,
    LinkEvidence,
    MacAddress,
    ModelBase,
    Network,
    Tags,
    Text,
    VlanId,
    VlanList,
)
from network_discovery.model.normalise import normalise_hostname

__all__ = [
    "VLAN",
    "WELL_KNOWN_ROLES",
    "BGPPeer",
    "Device",
    "Endpoint",
    "IPAddress",
    "Interface",
    "InterfaceRef",
    "Link",
    "Subnet",
]

#: Roles the product gives meaning to (upstream detection, inventory groups). ``role`` is
#: free text, lower-cased; other values are kept as they are.
WELL_KNOWN_ROLES = (
    "core",
    "distribution",
    "access",
    "border",
    "firewall",
    "spine",
    "leaf",
    "router",
    "wireless_controller",
    "management",
    "access_point",
    "phone",
    "server",
)


class Device(ModelBase):
    """A network device: one the product collected (``managed``) or one only seen as a
    neighbour (a phone, an access point, a switch out of scope: ``managed=False``)."""

    hostname: Text = Field(default=None, max_length=255, description="As the device names itself.")
    chassis_id: Text = Field(default=None, description="LLDP chassis id, when known.")
    vendor: Text = None
    platform: Text = Field(
        default=None,
        description="Parser platform: cisco_ios, cisco_nxos, arista_eos, juniper_junos, ...",
    )
    os_version: Text = None
    serial: Text = None
    model: Text = Field(
        default=None, description="As the vendor prints it (NX-OS: Nexus9000 C9300v Chassis)."
    )
    model_id: Text = Field(
        default=None,
        description="The product id within the printed model, where the two differ "
        "(C9300v); what NetBox device types are named after.",
    )
    role: Text = Field(default=None, description="core, distribution, access, border, ...")
    site: Text = None
    tenant: Text = None
    rack: Text = None
    management_ip: HostAddress | None = None
    criticality: Criticality | None = None
    netbox_id: int | None = Field(
        default=None, ge=1, description="The NetBox device's id, while the last pull matched one."
    )
    netbox_platform: Text = Field(
        default=None,
        description="NetBox's platform name, as a pull found it; never picks parsers.",
    )
    netbox_platform_slug: Text = Field(default=None, description="That platform's NetBox slug.")
    managed: bool = Field(
        default=True,
        description="False for a neighbour that was seen but not itself collected.",
    )
    description: Text = Field(default=None, description="System description (LLDP/CDP).")
    capabilities: Capabilities = ()
    tags: Tags = ()
    # How the device is managed, as its configuration says (hardening baselines check these).
    settings_source: Text = Field(
        default=None,
        description="configuration: the settings below were read from the device's "
        "configuration (empty lists then mean none configured); null: not known.",
    )
    ntp_servers: tuple[Annotated[str, Field(max_length=255)], ...] = Field(
        default=(), max_length=64, description="NTP servers (addresses or names)."
    )
    logging_hosts: tuple[Annotated[str, Field(max_length=255)], ...] = Field(
        default=(), max_length=64, description="Remote syslog hosts."
    )
    aaa_servers: tuple[Annotated[str, Field(max_length=255)], ...] = Field(
        default=(), max_length=64, description="TACACS+ and RADIUS servers."
    )
    snmp_versions: tuple[Literal["v1", "v2c", "v3"], ...] = Field(
        default=(),
        description="SNMP versions in use (a community means v2c); communities and keys are "
        "never kept.",
    )
    remote_access: tuple[Literal["ssh", "telnet", "http", "https"], ...] = Field(
        default=(), description="Management services that are on."
    )
    ssh_version: int | None = Field(default=None, ge=1, le=2)
    login_banner: bool | None = Field(default=None, description="A login/motd banner is set.")

    @field_validator("hostname")
    @classmethod
    def _check_hostname(cls, value: str | None) -> str | None:
        if value is not None:
            normalise_hostname(value)
        return value

    @field_validator("role")
    @classmethod
    def _lower_role(cls, value: str | None) -> str | None:
        return "_".join(value.lower().split()) if value else value

    @model_validator(mode="after")
    def _check_identity(self) -> Self:
        if self.managed and not self.hostname:
            raise ValueError("a managed (collected) device needs a hostname")
        if not (self.hostname or self.chassis_id or self.management_ip):
            raise ValueError("a device needs a hostname, a chassis_id or a management_ip")
        return self

    @property
    def id(self) -> str:
        return ids.device_id(
            self.hostname, chassis_id=self.chassis_id, management_ip=self.management_ip
        )


class Interface(ModelBase):
    """A port, aggregate, SVI, loopback or sub-interface of one device."""

    device: DeviceRef
    name: InterfaceName
    description: Text = None
    admin_status: InterfaceStatus | None = None
    oper_status: InterfaceStatus | None = None
    speed_mbps: int | None = Field(default=None, ge=0)
    mtu: int | None = Field(default=None, ge=1, le=65535)
    mac: MacAddress | None = None
    mode: InterfaceMode | None = None
    access_vlan: VlanId | None = None
    voice_vlan: VlanId | None = None
    native_vlan: VlanId | None = None
    trunk_vlans: VlanList = Field(default=(), description="VLANs allowed on a trunk.")
    lag: InterfaceName | None = Field(
        default=None, description="The aggregate (Port-channel, ae) this port is a member of."
    )
    parent: InterfaceName | None = Field(
        default=None, description="The physical interface of a sub-interface or unit."
    )
    vrf: Text = None
    if_index: int | None = Field(
        default=None,
        ge=0,
        le=4_294_967_295,
        description="The SNMP ifIndex, where the device prints it: names a neighbour's port "
        "that LLDP sent as a locally assigned id.",
    )

    @model_validator(mode="after")
    def _check_relations(self) -> Self:
        if self.lag is not None and self.lag == self.name:
            raise ValueError(f"interface {self.name} cannot be a member of itself")
        if self.parent is not None and self.parent == self.name:
            raise ValueError(f"interface {self.name} cannot be its own parent")
        return self

    @property
    def id(self) -> str:
        return ids.interface_id(self.device, self.name)


class InterfaceRef(ModelBase):
    """One end of a link: a device and one of its interfaces."""

    device: DeviceRef
    interface: InterfaceName

    @property
    def id(self) -> str:
        return ids.interface_id(self.device, self.interface)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # filled in from the evidence, never null once validated


class Link(ModelBase):
    """A cable between two interfaces, with the evidence for it.

    The ends are stored in id order, so a link reads the same whichever end reported it.
    ``confidence`` defaults to the evidence's usual weight.
    """

    a: InterfaceRef
    b: InterfaceRef
    evidence: LinkEvidence
    confidence: float = Field(
        default=None,
        ge=0.0,
        le=1.0,
        validate_default=True,
        description="0 to 1; when absent, the usual weight of the evidence "
        "(LLDP/CDP both ends 1.0, a layer-1 topology file 0.9, one end 0.8, NetBox 0.7, "
        "MAC/ARP 0.5).",
        json_schema_extra=_no_default,
    )

    @model_validator(mode="before")
    @classmethod
    def _order_ends(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "a" not in data or "b" not in data:
            return data
        data = dict(data)
        try:
            a = InterfaceRef.model_validate(data["a"])
            b = InterfaceRef.model_validate(data["b"])
        except ValueError:
            return data  # let field validation report it
        if b.id < a.id:
            a, b = b, a
        data["a"], data["b"] = a, b
        return data

    @field_validator("confidence", mode="before")
    @classmethod
    def _default_confidence(cls, value: Any, info: ValidationInfo) -> Any:
        evidence = info.data.get("evidence")
        if value is None and isinstance(evidence, LinkEvidence):
            return evidence.default_confidence
        return value

    @model_validator(mode="after")
    def _check_ends(self) -> Self:
        if self.a.id == self.b.id:
            raise ValueError(f"a link joins two different interfaces, got {self.a.id!r} twice")
        return self

    @property
    def id(self) -> str:
        return ids.link_id(self.a.id, self.b.id)

    @property
    def devices(self) -> tuple[str, str]:
        return (self.a.device, self.b.device)


class IPAddress(ModelBase):
    """An address configured on an interface (IPv4 or IPv6, with its prefix length)."""

    device: DeviceRef
    interface: InterfaceName
    address: InterfaceAddress
    vrf: Text = None
    virtual: bool = Field(
        default=False,
        description="Shared by design: an anycast gateway (EOS ip address virtual, NX-OS "
        "fabric forwarding) held by several devices at once, so never a duplicate.",
    )

    @property
    def id(self) -> str:
        return ids.ip_id(self.device, self.interface, self.address)

    @property
    def ip(self) -> str:
        """The host address without the prefix length."""
        return self.address.split("/", 1)[0]

    @property
    def prefix_length(self) -> int:
        return int(self.address.split("/", 1)[1])

    @property
    def version(self) -> int:
        return ipaddress.ip_interface(self.address).version

    @property
    def network(self) -> str:
        """The subnet the address belongs to, in CIDR form."""
        return str(ipaddress.ip_interface(self.address).network)

    @property
    def subnet_id(self) -> str:
        return ids.subnet_id(self.network, self.vrf)


class Subnet(ModelBase):
    """A subnet, derived from the addresses configured in it."""

    cidr: Network
    vrf: Text = None
    site: Text = None

    @classmethod
    def of(cls, address: IPAddress) -> Subnet:
        return cls(cidr=address.network, vrf=address.vrf)

    @property
    def id(self) -> str:
        return ids.subnet_id(self.cidr, self.vrf)

    @property
    def version(self) -> int:
        return ipaddress.ip_network(self.cidr).version

    def contains(self, address: str) -> bool:
        """Whether a host address (no prefix length) lies in this subnet."""
        return ipaddress.ip_address(address) in ipaddress.ip_network(self.cidr)


class VLAN(ModelBase):
    """A VLAN as configured on one device, or as defined for a whole site."""

    vlan: VlanId
    name: Text = None
    device: DeviceRef | None = None
    site: Text = None

    @model_validator(mode="after")
    def _check_owner(self) -> Self:
        if (self.device is None) == (self.site is None):
            raise ValueError(f"VLAN {self.vlan} belongs to exactly one of a device or a site")
        return self

    @property
    def id(self) -> str:
        return ids.vlan_id(self.vlan, device=self.device, site=self.site)


class Endpoint(ModelBase):
    """A host seen on the network by its MAC: where it is plugged in and which IPs it uses."""

    mac: MacAddress
    ips: tuple[HostAddress, ...] = ()
    vendor: Text = Field(default=None, description="From the MAC's OUI, when known.")
    hostname: Text = None
    device: DeviceRef | None = Field(default=None, description="Switch it is plugged into.")
    interface: InterfaceName | None = Field(default=None, description="Edge port on that switch.")
    vlan: VlanId | None = None
    first_seen: AwareDatetime | None = None
    last_seen: AwareDatetime | None = None

    @field_validator("ips")
    @classmethod
    def _sort_ips(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unique = {ipaddress.ip_address(v) for v in value}
        return tuple(str(a) for a in sorted(unique, key=lambda a: (a.version, a)))

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.interface is not None and self.device is None:
            raise ValueError(f"endpoint {self.mac}: an interface needs its device")
        if self.first_seen and self.last_seen and self.last_seen < self.first_seen:
            raise ValueError(f"endpoint {self.mac}: last_seen is before first_seen")
        return self

    @property
    def id(self) -> str:
        return ids.endpoint_id(self.mac)

    @property
    def located(self) -> bool:
        return self.device is not None and self.interface is not None


class BGPPeer(ModelBase):
    """One BGP session as the local device reports it."""

    device: DeviceRef
    vrf: Text = None
    local_address: HostAddress | None = None
    local_asn: Asn
    remote_address: HostAddress
    remote_asn: Asn
    state: BGPState
    prefixes_received: int | None = Field(default=None, ge=0)
    uptime_seconds: int | None = Field(default=None, ge=0)
    description: Text = None

    @property
    def id(self) -> str:
        return ids.bgp_peer_id(self.device, self.remote_address, self.vrf)

    @property
    def external(self) -> bool:
        """eBGP: the peer is in another autonomous system."""
        return self.local_asn != self.remote_asn

    @property
    def established(self) -> bool:
        return self.state is BGPState.ESTABLISHED
