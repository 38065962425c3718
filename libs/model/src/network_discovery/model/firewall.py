"""Firewall policy: zones, rule sets, rules, and the address and service objects they use.

A device's policy is one or more ordered :class:`FirewallRuleset`s. Each rule set says where it
applies (its ``bindings``: an interface and direction, or the whole device) and how it ends
(``default_action``: the ASA/IOS implicit deny, an iptables chain policy, the SRX
default-policy). Its :class:`FirewallRule`s are evaluated first match in ``position`` order.

Rules are stored resolved: address and service objects and groups (nested to any depth) are
expanded at ingest into CIDR lists and :class:`Service` entries, and the names the
configuration used are kept next to them for display. Matching conventions:

- an empty zone, address or service list means *any* (both address families for addresses);
  ``0.0.0.0/0`` alone means any IPv4 address only, ``::/0`` any IPv6 address only;
- a rule matches when the packet's source lies in one of ``sources``, its destination in one
  of ``destinations``, and it matches one of ``services``;
- a service with protocol ``any`` matches every protocol (and then carries no ports).

Linux netfilter (iptables): a rule set that is a built-in chain says which table and hook
it is (``netfilter_table`` ``mangle``, ``netfilter_hook`` ``PREROUTING``) and which address
``family`` it sees, so path analysis can consult a host's chains in the kernel's order. A
rule of the ``nat`` table carries its translation in ``nat`` (a :class:`NatAction`); its
``action`` is ``permit``, since the nat table decides no packet's fate.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from network_discovery.model import ids
from network_discovery.model.fields import DeviceRef, InterfaceName, ModelBase, Text

__all__ = [
    "NETFILTER_CHAINS",
    "PROTOCOL_NUMBERS",
    "BindingDirection",
    "FirewallObject",
    "FirewallRule",
    "FirewallRuleset",
    "FirewallZone",
    "NatAction",
    "NatKind",
    "NetfilterHook",
    "NetfilterTable",
    "ObjectKind",
    "PortRange",
    "Protocol",
    "RuleAction",
    "RulesetBinding",
    "RulesetKind",
    "Service",
    "normalise_protocol",
]


class RuleAction(StrEnum):
    """What a rule does with a matching packet. ``drop`` discards silently, ``reject``
    answers (TCP reset / ICMP unreachable); both, like ``deny``, stop the packet."""

    PERMIT = "permit"
    DENY = "deny"
    DROP = "drop"
    REJECT = "reject"

    @property
    def allows(self) -> bool:
        return self is RuleAction.PERMIT


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


#: A rule action, any case accepted.
Action = Annotated[RuleAction, BeforeValidator(_lower)]


class RulesetKind(StrEnum):
    """How a rule set is attached to traffic."""

    #: An access list applied to interfaces in a direction (Cisco ASA, IOS/IOS-XE).
    ACL = "acl"
    #: A netfilter chain (iptables), user chains flattened into the built-in one.
    CHAIN = "chain"
    #: One ordered zone-based policy for the device; rules carry their zones (SRX, PAN-OS).
    ZONE_POLICY = "zone_policy"


class BindingDirection(StrEnum):
    """Which traffic a rule set sees at its binding."""

    #: Entering the device through the interface (every interface when none is named).
    IN = "in"
    #: Leaving the device through the interface (every interface when none is named).
    OUT = "out"
    #: Passing through the device (iptables FORWARD, a zone policy).
    TRANSIT = "transit"
    #: Addressed to the device itself (iptables INPUT).
    LOCAL_IN = "local_in"
    #: Sent by the device itself (iptables OUTPUT).
    LOCAL_OUT = "local_out"


class NetfilterTable(StrEnum):
    """A netfilter table (iptables ``*raw``, ``*mangle``, ``*nat``, ``*filter``)."""

    RAW = "raw"
    MANGLE = "mangle"
    NAT = "nat"
    FILTER = "filter"


class NetfilterHook(StrEnum):
    """A built-in chain: the kernel hook where the packet meets it."""

    PREROUTING = "PREROUTING"
    INPUT = "INPUT"
    FORWARD = "FORWARD"
    OUTPUT = "OUTPUT"
    POSTROUTING = "POSTROUTING"


#: The built-in chains of each table, as the kernel has them.
NETFILTER_CHAINS: dict[NetfilterTable, tuple[NetfilterHook, ...]] = {
    NetfilterTable.RAW: (NetfilterHook.PREROUTING, NetfilterHook.OUTPUT),
    NetfilterTable.MANGLE: tuple(NetfilterHook),
    NetfilterTable.NAT: (
        NetfilterHook.PREROUTING,
        NetfilterHook.INPUT,
        NetfilterHook.OUTPUT,
        NetfilterHook.POSTROUTING,
    ),
    NetfilterTable.FILTER: (NetfilterHook.INPUT, NetfilterHook.FORWARD, NetfilterHook.OUTPUT),
}


class NatKind(StrEnum):
    """What a nat-table rule does to the first packet of a connection."""

    #: The destination becomes ``address`` (and ``ports``): iptables ``DNAT``.
    DNAT = "dnat"
    #: The source becomes ``address`` (and ``ports``): iptables ``SNAT``.
    SNAT = "snat"
    #: The source becomes the address of the interface the packet leaves by.
    MASQUERADE = "masquerade"
    #: The destination becomes the device itself (and ``ports``): iptables ``REDIRECT``.
    REDIRECT = "redirect"


_NAT_TEXT = re.compile(
    r"^(?P<kind>\w+)(?: to (?P<address>[0-9A-Fa-f.:]+)(?:-(?P<last>[0-9A-Fa-f.:]+))?)?"
    r"(?: port (?P<lo>\d+)(?:-(?P<hi>\d+))?)?$"
)


class NatAction(ModelBase):
    """An address translation. Its text form, also stored in the graph, parses back with
    :meth:`parse`: ``dnat to 10.0.0.5 port 8080``, ``snat to 203.0.113.1-203.0.113.9``,
    ``masquerade``, ``redirect port 3128``. A range of addresses or ports is kept as
    configured; path analysis takes its first address and first port."""

    kind: NatKind
    address: str | None = Field(
        default=None, description="DNAT, SNAT: the new address (the first of a range)."
    )
    address_last: str | None = Field(
        default=None, description="The last address of a range; none for one address."
    )
    ports: PortRange | None = Field(
        default=None, description="The new port or port range; none: the port is kept."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            match = _NAT_TEXT.match(" ".join(data.split()).lower())
            if not match:
                raise ValueError(
                    f"invalid translation {data!r}: expected e.g. 'dnat to 10.0.0.5 port 80'"
                )
            lo, hi = match.group("lo"), match.group("hi")
            return {
                "kind": match.group("kind"),
                "address": match.group("address"),
                "address_last": match.group("last"),
                "ports": None if lo is None else {"lo": int(lo), "hi": int(hi or lo)},
            }
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        for value in (self.address, self.address_last):
            if value is not None:
                try:
                    ipaddress.ip_address(value)
                except ValueError:
                    raise ValueError(f"invalid translation address {value!r}") from None
        if self.kind in (NatKind.MASQUERADE, NatKind.REDIRECT) and self.address is not None:
            raise ValueError(f"{self.kind} takes no address: it uses the device's own")
        if self.kind in (NatKind.DNAT, NatKind.SNAT) and self.address is None and not self.ports:
            raise ValueError(f"{self.kind} needs an address or ports")
        if self.address_last is not None:
            if self.address is None:
                raise ValueError("an address range needs its first address")
            first = ipaddress.ip_address(self.address)
            last = ipaddress.ip_address(self.address_last)
            if first.version != last.version or int(last) < int(first):
                raise ValueError(f"invalid address range {self.address}-{self.address_last}")
        return self

    def __str__(self) -> str:
        parts = [str(self.kind)]
        if self.address is not None:
            parts += ["to", self.address + (f"-{self.address_last}" if self.address_last else "")]
        if self.ports is not None:
            parts += ["port", str(self.ports)]
        return " ".join(parts)

    @classmethod
    def parse(cls, text: str) -> NatAction:
        """The translation a :meth:`__str__` text names."""
        return cls.model_validate(text)


class ObjectKind(StrEnum):
    ADDRESS = "address"
    SERVICE = "service"


#: Protocol names the model accepts, as their IANA numbers; 6, 17, 1 and 58 are stored as
#: ``tcp``, ``udp``, ``icmp`` and ``icmpv6``, other numbers as decimal text.
PROTOCOL_NUMBERS = {
    "icmp": 1,
    "igmp": 2,
    "ipinip": 4,
    "tcp": 6,
    "udp": 17,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmpv6": 58,
    "eigrp": 88,
    "ospf": 89,
    "pim": 103,
    "vrrp": 112,
    "sctp": 132,
}
_NAMED = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
_ALIASES = {"ip": "any", "all": "any", "ipv6": "any", "icmp6": "icmpv6", "ipv6-icmp": "icmpv6"}


def normalise_protocol(value: Any) -> str:
    """``any``, ``tcp``, ``udp``, ``icmp``, ``icmpv6`` or an IANA number as decimal text."""
    if isinstance(value, bool):
        raise ValueError(f"invalid protocol {value!r}")
    text = str(value).strip().lower()
    text = _ALIASES.get(text, text)
    if text == "any":
        return text
    number = PROTOCOL_NUMBERS.get(text)
    if number is None:
        if not text.isdigit() or not 0 <= int(text) <= 255:
            raise ValueError(
                f"invalid protocol {value!r}: expected any, tcp, udp, icmp, icmpv6, a known "
                "name (esp, gre, ospf, ...) or a number 0-255"
            )
        number = int(text)
    return _NAMED.get(number, str(number))


Protocol = Annotated[
    str,
    BeforeValidator(normalise_protocol),
    Field(
        description="any, tcp, udp, icmp, icmpv6, or an IANA protocol number as text "
        "(names such as esp or gre are stored as their numbers).",
        examples=["tcp", "50"],
    ),
]

_PORTS = ("tcp", "udp", "132")
_PORT_TEXT = re.compile(r"^(\d+)(?:-(\d+))?$")


class PortRange(ModelBase):
    """An inclusive range of TCP/UDP/SCTP ports; a single port has ``lo == hi``."""

    lo: int = Field(ge=0, le=65535)
    hi: int = Field(ge=0, le=65535)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            return {"lo": data, "hi": data}
        if isinstance(data, str):
            match = _PORT_TEXT.match(data.strip())
            if not match:
                raise ValueError(f"invalid port range {data!r}: expected 443 or 1024-65535")
            lo = int(match.group(1))
            return {"lo": lo, "hi": int(match.group(2) or lo)}
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.lo > self.hi:
            raise ValueError(f"invalid port range {self.lo}-{self.hi}: lo is above hi")
        return self

    def __str__(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"

    def contains(self, port: int) -> bool:
        return self.lo <= port <= self.hi


def _merge_ranges(value: Any) -> Any:
    """Port ranges sorted, with overlapping and adjacent ranges merged."""
    if not isinstance(value, (list, tuple)):
        return value
    ranges = sorted((PortRange.model_validate(v) for v in value), key=lambda r: (r.lo, r.hi))
    merged: list[PortRange] = []
    for r in ranges:
        if merged and r.lo <= merged[-1].hi + 1:
            if r.hi > merged[-1].hi:
                merged[-1] = PortRange(lo=merged[-1].lo, hi=r.hi)
        else:
            merged.append(r)
    if len(merged) == 1 and merged[0].lo == 0 and merged[0].hi == 65535:
        return ()
    return tuple(merged)


def _collapse(value: Any) -> Any:
    """CIDRs collapsed per family (overlaps and neighbours merged), IPv4 first, sorted."""
    if not isinstance(value, (list, tuple)):
        return value
    return _collapsed(tuple(value))


@lru_cache(maxsize=4096)
def _collapsed(value: tuple[str, ...]) -> tuple[str, ...]:
    # cached: the rules that use one object group all resolve to the same list
    try:
        nets = [ipaddress.ip_network(str(v).strip(), strict=True) for v in value]
    except ValueError as exc:
        raise ValueError(f"invalid subnet: {exc}") from None
    v4 = ipaddress.collapse_addresses(n for n in nets if n.version == 4)
    v6 = ipaddress.collapse_addresses(n for n in nets if n.version == 6)
    return tuple(str(n) for n in [*v4, *v6])


def _collapse_any(value: Any) -> Any:
    """As :func:`_collapse`; ``0.0.0.0/0`` together with ``::/0`` is any: ``()``."""
    value = _collapse(value)
    return () if value == ("0.0.0.0/0", "::/0") else value


_CIDRS = {"items": {"type": "string", "description": "Subnet in CIDR form, host bits zero."}}
#: Resolved addresses of an object: collapsed, sorted (validated and normalised there, so a
#: rule with a large group costs one cached collapse, not one check per address).
Networks = Annotated[tuple[str, ...], BeforeValidator(_collapse), Field(json_schema_extra=_CIDRS)]
#: Addresses a rule matches: collapsed, sorted; empty (the one spelling of any) matches all.
RuleNetworks = Annotated[
    tuple[str, ...], BeforeValidator(_collapse_any), Field(json_schema_extra=_CIDRS)
]

_PORT = {"type": "integer", "minimum": 0, "maximum": 65535}
PortRanges = Annotated[
    tuple[PortRange, ...],
    BeforeValidator(_merge_ranges),
    WithJsonSchema(
        {
            "type": "array",
            "description": "Port ranges, each {lo, hi}, a port number or 'lo-hi' text; "
            "empty means any port.",
            "items": {
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {"lo": _PORT, "hi": _PORT},
                        "required": ["lo", "hi"],
                        "additionalProperties": False,
                    },
                    _PORT,
                    {"type": "string", "pattern": r"^\d+(-\d+)?$"},
                ]
            },
        }
    ),
]


class Service(ModelBase):
    """A protocol with its ports (TCP, UDP, SCTP) or ICMP type and code.

    Its text form, also stored in the graph, reads like an access-list entry and parses back
    with :meth:`parse`: ``any``, ``tcp dst 443``, ``udp src 53 dst 1024-65535``,
    ``tcp dst 80,8080-8090 established``, ``icmp type 8 code 0``, ``50``.
    """

    protocol: Protocol = "any"
    src_ports: PortRanges = ()
    dst_ports: PortRanges = ()
    icmp_type: int | None = Field(default=None, ge=0, le=255)
    icmp_code: int | None = Field(default=None, ge=0, le=255)
    established: bool = Field(
        default=False,
        description="TCP only: matches packets of established connections (ACK or RST set), "
        "never the first packet of a new one.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.src_ports or self.dst_ports) and self.protocol not in _PORTS:
            raise ValueError(f"ports need protocol tcp, udp or sctp, not {self.protocol}")
        if self.icmp_type is not None and self.protocol not in ("icmp", "icmpv6"):
            raise ValueError(f"an ICMP type needs protocol icmp or icmpv6, not {self.protocol}")
        if self.icmp_code is not None and self.icmp_type is None:
            raise ValueError("an ICMP code needs an ICMP type")
        if self.established and self.protocol != "tcp":
            raise ValueError("'established' applies to protocol tcp only")
        return self

    def __str__(self) -> str:
        parts = [self.protocol]
        if self.src_ports:
            parts += ["src", ",".join(str(r) for r in self.src_ports)]
        if self.dst_ports:
            parts += ["dst", ",".join(str(r) for r in self.dst_ports)]
        if self.icmp_type is not None:
            parts += ["type", str(self.icmp_type)]
        if self.icmp_code is not None:
            parts += ["code", str(self.icmp_code)]
        if self.established:
            parts.append("established")
        return " ".join(parts)

    @classmethod
    def parse(cls, text: str) -> Service:
        """The service a :meth:`__str__` text names."""
        words = text.split()
        if not words:
            raise ValueError("invalid service '': it is empty")
        data: dict[str, Any] = {"protocol": words[0]}
        keys = {"src": "src_ports", "dst": "dst_ports", "type": "icmp_type", "code": "icmp_code"}
        rest = iter(words[1:])
        for word in rest:
            if word == "established":
                data["established"] = True
            elif word in keys and (value := next(rest, None)) is not None:
                data[keys[word]] = value.split(",") if word in ("src", "dst") else int(value)
            else:
                raise ValueError(f"invalid service {text!r}: unexpected {word!r}")
        return cls.model_validate(data)


class FirewallZone(ModelBase):
    """A security zone and the interfaces in it. Routers and ACL firewalls have no zones of
    their own: there each interface (or ASA ``nameif``) is a zone."""

    device: DeviceRef
    name: str = Field(min_length=1, max_length=128)
    interfaces: tuple[InterfaceName, ...] = ()
    security_level: int | None = Field(
        default=None, ge=0, le=100, description="Cisco ASA security level, when set."
    )

    @property
    def id(self) -> str:
        return ids.firewall_zone_id(self.device, self.name)


class RulesetBinding(ModelBase):
    """Where a rule set applies: an interface and direction, or (no interface) the device."""

    interface: InterfaceName | None = None
    direction: BindingDirection

    def __str__(self) -> str:
        return f"{self.direction} {self.interface}" if self.interface else str(self.direction)


class FirewallRuleset(ModelBase):
    """An ordered rule set (ACL, chain, zone policy) and the action when no rule matches."""

    device: DeviceRef
    name: str = Field(min_length=1, max_length=128)
    kind: RulesetKind
    default_action: Action = Field(
        description="What happens to a packet no rule matches: ASA/IOS implicit deny, the "
        "iptables chain policy, the SRX default-policy."
    )
    default_text: Text = Field(
        default=None,
        description="The configuration line that sets the default, if any "
        "(none for an implicit deny).",
    )
    bindings: tuple[RulesetBinding, ...] = Field(
        default=(), description="Where it applies; empty when it is configured but unused."
    )
    netfilter_table: NetfilterTable | None = Field(
        default=None,
        description="iptables: the table of this built-in chain (raw, mangle, nat, filter); "
        "none for other rule sets.",
    )
    netfilter_hook: NetfilterHook | None = Field(
        default=None,
        description="iptables: the built-in chain, i.e. the kernel hook (PREROUTING, INPUT, "
        "FORWARD, OUTPUT, POSTROUTING); set together with netfilter_table.",
    )
    family: int | None = Field(
        default=None,
        description="iptables: 4 (iptables) or 6 (ip6tables), the only packets the chain "
        "sees; none: any.",
    )

    @model_validator(mode="after")
    def _check_hook(self) -> Self:
        table, hook = self.netfilter_table, self.netfilter_hook
        if (table is None) != (hook is None):
            raise ValueError(
                "netfilter_table and netfilter_hook are set together (an iptables built-in chain)"
            )
        if table is not None and hook not in NETFILTER_CHAINS[table]:
            raise ValueError(f"the {table} table has no built-in chain {hook}")
        if self.family not in (None, 4, 6):
            raise ValueError(f"invalid family {self.family}: expected 4 or 6")
        return self

    @property
    def id(self) -> str:
        return ids.firewall_ruleset_id(self.device, self.name)


class FirewallRule(ModelBase):
    """One rule of a rule set, with objects and groups resolved to CIDRs and services."""

    device: DeviceRef
    ruleset: str = Field(min_length=1, max_length=128, description="Its rule set's name.")
    position: int = Field(ge=1, description="1-based order in the rule set (first match).")
    name: str = Field(
        min_length=1,
        max_length=255,
        description="The rule's name; where the configuration gives none, the parser names it "
        "after the rule set and position (ASA ``OUTSIDE_IN line 3``).",
    )
    action: Action
    src_zones: tuple[str, ...] = Field(default=(), description="Empty: any zone.")
    dst_zones: tuple[str, ...] = Field(default=(), description="Empty: any zone.")
    sources: RuleNetworks = Field(
        default=(), description="Source CIDRs, resolved; empty: any address (IPv4 and IPv6)."
    )
    destinations: RuleNetworks = Field(
        default=(), description="Destination CIDRs, resolved; empty: any address."
    )
    source_names: tuple[str, ...] = Field(
        default=(), description="The sources as configured: object or group names, literals."
    )
    destination_names: tuple[str, ...] = ()
    services: tuple[Service, ...] = Field(default=(), description="Empty: any service.")
    service_names: tuple[str, ...] = Field(
        default=(), description="The services as configured: object or group names, literals."
    )
    enabled: bool = True
    log: bool = False
    hit_count: int | None = Field(default=None, ge=0)
    comment: Text = None
    text: Text = Field(default=None, description="The rule as the configuration wrote it.")
    nat: NatAction | None = Field(
        default=None,
        description="iptables nat table: the translation the rule applies (its action is "
        "then permit); none: the rule translates nothing.",
    )

    @model_validator(mode="after")
    def _check_nat(self) -> Self:
        if self.nat is not None and self.action is not RuleAction.PERMIT:
            raise ValueError("a rule with a translation (nat) has the action permit")
        return self

    @property
    def id(self) -> str:
        return ids.firewall_rule_id(self.device, self.ruleset, self.position)

    @property
    def ruleset_id(self) -> str:
        return ids.firewall_ruleset_id(self.device, self.ruleset)


class FirewallObject(ModelBase):
    """A named address or service object or group, with what it resolves to."""

    device: DeviceRef
    name: str = Field(min_length=1, max_length=255)
    kind: ObjectKind
    members: tuple[str, ...] = Field(
        default=(), description="What it is made of as configured: literals, nested names."
    )
    addresses: Networks = Field(default=(), description="Resolved (address kind).")
    services: tuple[Service, ...] = Field(default=(), description="Resolved (service kind).")
    description: Text = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.kind is ObjectKind.ADDRESS and self.services:
            raise ValueError(f"address object {self.name} cannot carry services")
        if self.kind is ObjectKind.SERVICE and self.addresses:
            raise ValueError(f"service object {self.name} cannot carry addresses")
        return self

    @property
    def id(self) -> str:
        return ids.firewall_object_id(self.device, self.kind, self.name)
