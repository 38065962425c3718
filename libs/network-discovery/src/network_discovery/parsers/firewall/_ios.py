"""Cisco IOS / IOS-XE ``show running-config``: named and numbered IPv4 access lists
(standard and extended), IPv6 access lists, and their ``ip access-group`` /
``ipv6 traffic-filter`` bindings. Routers have no zones: each interface an ACL is applied
to is a zone of its own, named after the interface."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import (
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    RulesetBinding,
    Service,
    canonical_interface_name,
)
from network_discovery.parsers.firewall._common import (
    LineError,
    PolicyResult,
    port_ranges,
    wildcard_network,
)
from network_discovery.parsers.firewall._ports import ICMP_TYPES

__all__ = ["parse_ios_acls"]

_TRAILERS = {"log", "log-input", "established", "time-range"}


@dataclass
class _Acl:
    name: str
    family: int
    standard: bool
    #: (line number, text, words after any sequence number, that sequence number)
    entries: list[tuple[int, str, list[str], int | None]] = field(default_factory=list)


def _address(words: list[str], i: int, family: int) -> tuple[list[str], str, int]:
    word = words[i]
    if word == "any":
        return ["0.0.0.0/0" if family == 4 else "::/0"], "any", i + 1
    if word == "host":
        net = ipaddress.ip_network(words[i + 1])
        return [str(net)], f"host {words[i + 1]}", i + 2
    if "/" in word:
        return [str(ipaddress.ip_network(word))], word, i + 1
    if word in ("object-group", "addrgroup"):
        raise LineError("object groups in IOS access lists are not supported")
    if i + 1 < len(words) and words[i + 1].count(".") == 3:
        return [wildcard_network(word, words[i + 1])], f"{word} {words[i + 1]}", i + 2
    return [str(ipaddress.ip_network(word))], word, i + 1  # standard list, single host


def _entry(acl: _Acl, words: list[str]) -> dict[str, Any]:
    action = words[0]
    if action not in ("permit", "deny"):
        raise LineError(f"expected permit, deny or remark, got {action!r}")
    if acl.standard:
        sources, src_name, i = _address(words, 1, 4)
        rest = words[i:]
        services: list[Service] = []
        dst_name, destinations, service_names = "any", ["0.0.0.0/0"], ["ip"]
    else:
        proto = words[1]
        sources, src_name, i = _address(words, 2, acl.family)
        src_ports, i2 = port_ranges(words, i)
        src_port_name = " ".join(words[i:i2])
        destinations, dst_name, i = _address(words, i2, acl.family)
        dst_ports, i3 = port_ranges(words, i)
        dst_port_name = " ".join(words[i:i3])
        rest = words[i3:]
        icmp_type = None
        if proto in ("icmp", "ipv6-icmp", "icmpv6") and rest and rest[0] in ICMP_TYPES:
            icmp_type, rest = ICMP_TYPES[rest[0]], rest[1:]
        elif proto in ("icmp",) and rest and rest[0].isdigit():
            icmp_type, rest = int(rest[0]), rest[1:]
        service = Service(
            protocol=proto,
            src_ports=src_ports,
            dst_ports=dst_ports,
            icmp_type=icmp_type,
            established="established" in rest,
        )
        services = [] if service == Service() else [service]
        service_names = [x for x in (proto, src_port_name, dst_port_name) if x]
    unknown = [w for w in rest if w not in _TRAILERS]
    if unknown and not (
        "time-range" in rest and rest.index("time-range") + 1 == rest.index(unknown[0])
    ):
        raise LineError(f"{unknown[0]!r} is not supported")
    return {
        "action": action,
        "sources": sources,
        "destinations": destinations,
        "source_names": [src_name],
        "destination_names": [dst_name],
        "services": services,
        "service_names": service_names,
        "log": any(w.startswith("log") for w in rest),
    }


def _numbered_kind(number: str) -> bool | None:
    """True for a standard list number, False for extended, None otherwise."""
    if not number.isdigit():
        return None
    n = int(number)
    if 1 <= n <= 99 or 1300 <= n <= 1999:
        return True
    if 100 <= n <= 199 or 2000 <= n <= 2699:
        return False
    return None


_Collected = tuple[dict[str, _Acl], dict[str, list[RulesetBinding]], dict[str, tuple[int, str]]]


def _collect(text: str, result: PolicyResult) -> _Collected:
    acls: dict[str, _Acl] = {}
    bindings: dict[str, list[RulesetBinding]] = {}
    applied: dict[str, tuple[int, str]] = {}  # list name -> first line applying it
    block: tuple[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        if not words:
            continue
        nested = raw[:1] == " "
        if not nested:
            block = None
        try:
            if nested and block and block[0] == "acl":
                seq = None
                if words[0] == "sequence" or words[0].isdigit():
                    seq = int(words[1] if words[0] == "sequence" else words[0])
                    words = words[2:] if words[0] == "sequence" else words[1:]
                acls[block[1]].entries.append((number, raw.strip(), words, seq))
            elif nested and block and block[0] == "interface":
                if words[0] in ("ip", "ipv6") and words[1] in ("access-group", "traffic-filter"):
                    name = words[2] if words[0] == "ip" else f"ipv6 {words[2]}"
                    if words[3] not in ("in", "out"):
                        raise LineError("expected in or out")
                    binding = RulesetBinding(interface=block[1], direction=words[3])
                    bindings.setdefault(name, []).append(binding)
                    applied.setdefault(name, (number, raw))
            elif words[0] == "hostname":
                result.hostname = words[1]
            elif words[0] == "interface":
                block = ("interface", canonical_interface_name(words[1]))
            elif words[:2] == ["ip", "access-list"] and words[2] in ("extended", "standard"):
                acls[words[3]] = _Acl(words[3], 4, words[2] == "standard")
                block = ("acl", words[3])
            elif words[:2] == ["ipv6", "access-list"]:
                name = f"ipv6 {words[2]}"
                acls[name] = _Acl(name, 6, False)
                block = ("acl", name)
            elif words[0] == "access-list" and _numbered_kind(words[1]) is not None:
                acl = acls.setdefault(words[1], _Acl(words[1], 4, bool(_numbered_kind(words[1]))))
                acl.entries.append((number, raw.strip(), words[2:], None))
        except (LineError, ValueError, IndexError) as exc:
            result.problem(number, raw, str(exc) or "incomplete line")
    return acls, bindings, applied


def parse_ios_acls(text: str, device: str) -> PolicyResult:
    """Every access list of the configuration, with the interfaces it is applied to."""
    result = PolicyResult()
    acls, bindings, applied = _collect(text, result)
    zones: set[str] = set()
    for name, acl in sorted(acls.items()):
        bound = bindings.get(name, [])
        src_zones = [b.interface for b in bound if b.direction == "in" and b.interface]
        dst_zones = [b.interface for b in bound if b.direction == "out" and b.interface]
        zones.update(src_zones + dst_zones)
        result.rulesets.append(
            FirewallRuleset(
                device=device, name=name, kind="acl", default_action="deny", bindings=bound
            )
        )
        remarks: list[str] = []
        position = 0
        for number, raw, words, seq in acl.entries:
            if words and words[0] == "remark":
                remarks.append(" ".join(words[1:]))
                continue
            position += 1
            try:
                fields = _entry(acl, words)
            except (LineError, ValueError, IndexError) as exc:
                result.problem(number, raw, str(exc) or "incomplete line")
                continue
            result.rules.append(
                FirewallRule(
                    device=device,
                    ruleset=name,
                    position=position,
                    name=f"{name} seq {seq or position * 10}",
                    src_zones=src_zones,
                    dst_zones=dst_zones,
                    comment=" ".join(remarks) or None,
                    text=raw,
                    **fields,
                )
            )
            remarks = []
    for name in sorted(bindings.keys() - acls.keys()):
        number, raw = applied[name]
        result.problem(number, raw, f"access list {name} is not defined (IOS then permits all)")
    result.zones = [FirewallZone(device=device, name=z, interfaces=[z]) for z in sorted(zones)]
    return result
