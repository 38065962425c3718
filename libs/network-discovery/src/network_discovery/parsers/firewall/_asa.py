"""Cisco ASA ``show running-config``: interfaces (``nameif`` zones, security levels,
addresses), ``name``, ``object`` and ``object-group`` definitions (network, service,
protocol, icmp-type; nested to any depth), extended ``access-list`` entries with remarks,
``inactive`` and ``log``, and ``access-group`` bindings."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Literal

from network_discovery.model import (
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    RulesetBinding,
    Service,
    normalise_protocol,
)
from network_discovery.parsers.firewall._common import (
    LineError,
    PolicyResult,
    Resolver,
    mask_network,
    port_ranges,
)
from network_discovery.parsers.firewall._ports import ICMP_TYPES

__all__ = ["parse_asa"]

_ACTIONS = {"permit": "permit", "deny": "deny"}
#: What may follow an entry: log [level] [interval N] | log disable|default, inactive,
#: time-range NAME.
_TRAILERS = {"log", "inactive", "interval", "disable", "default", "time-range", "emergencies",
             "alerts", "critical", "errors", "warnings", "notifications", "informational",
             "debugging"}  # fmt: skip


@dataclass
class _Config:
    device: str
    result: PolicyResult = field(default_factory=PolicyResult)
    names: dict[str, str] = field(default_factory=dict)
    networks: Resolver = field(default_factory=lambda: Resolver("network"))
    services: Resolver = field(default_factory=lambda: Resolver("service"))
    protocols: Resolver = field(default_factory=lambda: Resolver("protocol"))
    icmp: Resolver = field(default_factory=lambda: Resolver("icmp-type"))
    nameif: dict[str, str] = field(default_factory=dict)  # nameif -> interface
    levels: dict[str, int] = field(default_factory=dict)
    acl_lines: list[tuple[int, str]] = field(default_factory=list)
    bindings: dict[str, list[RulesetBinding]] = field(default_factory=dict)
    applied: dict[str, tuple[int, str]] = field(default_factory=dict)  # acl -> first line


def _host(cfg: _Config, word: str) -> str:
    return str(ipaddress.ip_network(cfg.names.get(word, word)))


def _network(cfg: _Config, words: list[str], i: int) -> tuple[list[str], str, int]:
    """An address operand at ``words[i]`` -> (CIDRs, as written, next index)."""
    word = words[i]
    if word == "any":
        return [], "any", i + 1
    if word == "any4":
        return ["0.0.0.0/0"], word, i + 1
    if word == "any6":
        return ["::/0"], word, i + 1
    if word == "host":
        return [_host(cfg, words[i + 1])], f"host {words[i + 1]}", i + 2
    if word in ("object", "object-group"):
        return cfg.networks.resolve(words[i + 1]), words[i + 1], i + 2
    if word == "interface":
        raise LineError("'interface' operands are not supported")
    if "/" in word:
        return [str(ipaddress.ip_network(word))], word, i + 1
    address = cfg.names.get(word, word)
    return [mask_network(address, words[i + 1])], f"{word} {words[i + 1]}", i + 2


def _service_def(words: list[str], i: int) -> list[Service]:
    """``tcp [source OP] [destination OP]`` / ``icmp [type]`` / ``PROTO`` from ``words[i]``."""
    proto = words[i]
    protos = ["tcp", "udp"] if proto == "tcp-udp" else [proto]
    src: list[Any] = []
    dst: list[Any] = []
    j = i + 1
    icmp_type = None
    while j < len(words):
        if words[j] == "source":
            src, j = port_ranges(words, j + 1)
        elif words[j] == "destination":
            dst, j = port_ranges(words, j + 1)
        elif proto in ("icmp", "icmp6") and words[j] in ICMP_TYPES:
            icmp_type, j = ICMP_TYPES[words[j]], j + 1
        elif proto in ("icmp", "icmp6") and words[j].isdigit():
            icmp_type, j = int(words[j]), j + 1
        else:
            dst, k = port_ranges(words, j)
            if k == j:
                raise LineError(f"unexpected {words[j]!r}")
            j = k
    return [Service(protocol=p, src_ports=src, dst_ports=dst, icmp_type=icmp_type) for p in protos]


def _definition(cfg: _Config, kind: str, name: str, words: list[str], proto: str | None) -> None:
    """One line inside an ``object`` / ``object-group`` block."""
    head, text = words[0], " ".join(words)
    if head == "description":
        return
    if head == "group-object":
        resolver = {"network": cfg.networks, "service": cfg.services}.get(kind)
        resolver = resolver or (cfg.protocols if kind == "protocol" else cfg.icmp)
        resolver.add_group(name, words[1], text)
    elif kind == "network":
        if head in ("host", "network-object") and words[1] == "host":
            cfg.networks.add(name, _host(cfg, words[2]), text)
        elif head == "host":
            cfg.networks.add(name, _host(cfg, words[1]), text)
        elif head == "network-object" and words[1] == "object":
            cfg.networks.add_group(name, words[2], text)
        elif head in ("subnet", "network-object"):
            cidr = (
                words[1]
                if "/" in words[1]
                else mask_network(cfg.names.get(words[1], words[1]), words[2])
            )
            cfg.networks.add(name, str(ipaddress.ip_network(cidr)), text)
        elif head == "range":
            first, last = ipaddress.ip_address(words[1]), ipaddress.ip_address(words[2])
            for net in ipaddress.summarize_address_range(first, last):
                cfg.networks.add(name, str(net), text)
        elif head != "nat":
            raise LineError(f"network object line {head!r} is not supported")
    elif kind == "service":
        if head == "port-object":
            ranges, _ = port_ranges(words, 1)
            for p in ["tcp", "udp"] if proto == "tcp-udp" else [proto or "tcp"]:
                cfg.services.add(name, Service(protocol=p, dst_ports=ranges), text)
        elif head in ("service-object", "service") and words[1] in ("object", "object-group"):
            cfg.services.add_group(name, words[2], text)
        elif head in ("service-object", "service"):
            for svc in _service_def(words, 1):
                cfg.services.add(name, svc, text)
        else:
            raise LineError(f"service object line {head!r} is not supported")
    elif kind == "protocol" and head == "protocol-object":
        cfg.protocols.add(name, normalise_protocol(words[1]), text)
    elif kind == "icmp-type" and head == "icmp-object":
        cfg.icmp.add(name, ICMP_TYPES.get(words[1], None), text)
    else:
        raise LineError(f"{kind} object line {head!r} is not supported")


def _services(cfg: _Config, words: list[str], i: int) -> tuple[list[Service], list[str], int]:
    """The protocol operand at ``words[i]``: services (ports added later) and names."""
    word = words[i]
    if word in ("object", "object-group") and words[i + 1] in cfg.services:
        return cfg.services.resolve(words[i + 1]), [words[i + 1]], i + 2
    if word == "object-group" and words[i + 1] in cfg.protocols:
        protos = cfg.protocols.resolve(words[i + 1])
        return [Service(protocol=p) for p in protos], [words[i + 1]], i + 2
    if word in ("object", "object-group"):
        raise LineError(f"service or protocol group {words[i + 1]} is not defined")
    return [Service(protocol=word)], [word], i + 1


def _ports_operand(cfg: _Config, words: list[str], i: int) -> tuple[list[Any], str | None, int]:
    if i < len(words) and words[i] == "object-group" and words[i + 1] in cfg.services:
        ranges = [r for s in cfg.services.resolve(words[i + 1]) for r in s.dst_ports]
        return ranges, words[i + 1], i + 2
    ranges, j = port_ranges(words, i)
    return ranges, " ".join(words[i:j]) or None, j


def _ace(cfg: _Config, acl: str, words: list[str], n: int) -> dict[str, Any]:
    """``permit|deny PROTO SRC [PORTS] DST [PORTS] [icmp type] [log ...] [inactive]``."""
    if words[0] not in _ACTIONS:
        raise LineError(f"expected permit or deny, got {words[0]!r}")
    services, service_names, i = _services(cfg, words, 1)
    sources, src_name, i = _network(cfg, words, i)
    src_ports, src_port_name, i = _ports_operand(cfg, words, i)
    destinations, dst_name, i = _network(cfg, words, i)
    dst_ports, dst_port_name, i = _ports_operand(cfg, words, i)
    rest = words[i:]
    icmp_type = None
    if rest and rest[0] in ICMP_TYPES and services[0].protocol in ("icmp", "icmpv6"):
        icmp_type, rest = ICMP_TYPES[rest[0]], rest[1:]
    elif rest and rest[0] == "object-group" and rest[1] in cfg.icmp:
        rest = rest[2:]  # icmp-type groups: the rule is kept for every ICMP type
    unknown = [w for w in rest if w not in _TRAILERS and not w.isdigit()]
    if unknown and (rest[rest.index(unknown[0]) - 1] != "time-range"):
        raise LineError(f"unexpected {unknown[0]!r}")
    if src_ports or dst_ports or icmp_type is not None:
        services = [
            s
            if s.protocol not in ("tcp", "udp", "icmp", "icmpv6")
            else Service(
                protocol=s.protocol,
                src_ports=src_ports if s.protocol in ("tcp", "udp") else [],
                dst_ports=dst_ports if s.protocol in ("tcp", "udp") else [],
                icmp_type=icmp_type if s.protocol in ("icmp", "icmpv6") else None,
            )
            for s in services
        ]
    names = service_names + [x for x in (src_port_name, dst_port_name) if x]
    return {
        "name": f"{acl} line {n}",
        "action": _ACTIONS[words[0]],
        "sources": sources,
        "destinations": destinations,
        "source_names": [src_name],
        "destination_names": [dst_name],
        "services": [] if all(s == Service() for s in services) else services,
        "service_names": names,
        "enabled": "inactive" not in rest,
        "log": "log" in rest and "disable" not in rest,
    }


def _blocks(cfg: _Config, text: str) -> None:
    """First pass: interfaces, names, objects and groups; ACL lines kept for later."""
    result = cfg.result
    # ("interface", name) or ("object", kind, name, protocol of a service group or None)
    block: (
        tuple[Literal["interface"], str] | tuple[Literal["object"], str, str, str | None] | None
    ) = None
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        if not words or words[0] == "!" or words[0].startswith(":"):
            block = None if raw[:1] != " " else block
            continue
        try:
            if raw[:1] == " " and block is not None:
                if block[0] == "interface":
                    _interface_line(cfg, block[1], words)
                else:
                    _definition(cfg, block[1], block[2], words, block[3])
                continue
            block = None
            if words[0] == "hostname":
                result.hostname = words[1]
            elif words[0] == "name" and len(words) >= 3:
                cfg.names[words[2]] = words[1]
            elif words[0] == "interface":
                block = ("interface", words[1])
                result.interfaces.setdefault(words[1], {"name": words[1]})
            elif words[0] in ("object", "object-group") and len(words) >= 3:
                kind = words[1]
                if kind not in ("network", "service", "protocol", "icmp-type"):
                    raise LineError(f"{words[0]} {kind} is not supported")
                block = ("object", kind, words[2], words[3] if len(words) > 3 else None)
                resolver = {"network": cfg.networks, "service": cfg.services}.get(kind)
                (resolver or (cfg.protocols if kind == "protocol" else cfg.icmp)).define(words[2])
                if words[0] == "object" and kind == "service":
                    block = ("object", "service", words[2], None)
            elif words[0] == "access-list":
                cfg.acl_lines.append((number, raw))
            elif words[0] == "access-group":
                _access_group(cfg, words)
                cfg.applied.setdefault(words[1], (number, raw))
        except (LineError, ValueError, IndexError) as exc:
            result.problem(number, raw, str(exc) or "incomplete line")


def _interface_line(cfg: _Config, name: str, words: list[str]) -> None:
    fields = cfg.result.interfaces[name]
    if words[0] == "nameif":
        cfg.nameif[words[1]] = name
    elif words[0] == "security-level":
        cfg.levels[name] = int(words[1])
    elif words[0] == "description":
        fields["description"] = " ".join(words[1:])
    elif words[:2] == ["ip", "address"] and len(words) >= 4:
        cidr = ipaddress.ip_interface(f"{words[2]}/{words[3]}")
        cfg.result.addresses.append((name, str(cidr)))
    elif words[:2] == ["ipv6", "address"] and "/" in words[2]:
        cfg.result.addresses.append((name, str(ipaddress.ip_interface(words[2]))))
    elif words[0] == "shutdown":
        fields["admin_status"] = "down"


def _access_group(cfg: _Config, words: list[str]) -> None:
    acl = words[1]
    if words[2] == "global":
        binding = RulesetBinding(direction="in")
    elif words[3] == "interface":
        interface = cfg.nameif.get(words[4])
        if interface is None:
            raise LineError(f"no interface has nameif {words[4]}")
        binding = RulesetBinding(interface=interface, direction=words[2])
    else:
        raise LineError("expected 'access-group ACL in|out interface NAME' or '... global'")
    cfg.bindings.setdefault(acl, []).append(binding)


def parse_asa(text: str, device: str) -> PolicyResult:
    """Interfaces, zones, objects and bound or unbound extended ACLs of one ASA."""
    cfg = _Config(device=device)
    result = cfg.result
    _blocks(cfg, text)
    zone_of = {iface: nameif for nameif, iface in cfg.nameif.items()}
    counters: dict[str, list[int]] = {}  # acl -> [ASA line, position]
    remarks: dict[str, list[str]] = {}
    rules: dict[str, list[FirewallRule]] = {}
    for number, raw in cfg.acl_lines:
        words = raw.split()
        acl = words[1]
        count = counters.setdefault(acl, [0, 0])
        if len(words) > 3 and words[2] == "line" and words[3].isdigit():
            words = words[:2] + words[4:]
        kind = words[2] if len(words) > 2 else ""
        if kind == "remark":
            count[0] += 1
            remarks.setdefault(acl, []).append(raw.split("remark", 1)[1].strip())
            continue
        if kind != "extended":
            continue  # standard, webtype and ethertype lists filter no IP traffic here
        count[0] += 1
        count[1] += 1
        try:
            fields = _ace(cfg, acl, words[3:], count[0])
        except (LineError, ValueError, IndexError) as exc:
            result.problem(number, raw, str(exc) or "incomplete line")
            continue
        bound = cfg.bindings.get(acl, [])
        fields["src_zones"] = [
            zone_of[b.interface] for b in bound if b.direction == "in" and b.interface in zone_of
        ]
        fields["dst_zones"] = [
            zone_of[b.interface] for b in bound if b.direction == "out" and b.interface in zone_of
        ]
        rule = FirewallRule(
            device=device,
            ruleset=acl,
            position=count[1],
            comment=" ".join(remarks.pop(acl, [])) or None,
            text=raw.strip(),
            **fields,
        )
        rules.setdefault(acl, []).append(rule)
    for acl in sorted(cfg.bindings.keys() - counters.keys()):
        number, raw = cfg.applied[acl]
        result.problem(number, raw, f"access list {acl} is not defined; the binding is ignored")
    for acl in counters:
        if acl not in rules and acl not in cfg.bindings:
            continue
        result.rulesets.append(
            FirewallRuleset(
                device=device,
                name=acl,
                kind="acl",
                default_action="deny",
                bindings=cfg.bindings.get(acl, []),
            )
        )
        result.rules.extend(rules.get(acl, []))
    result.rulesets.sort(key=lambda r: r.name)
    result.zones = [
        FirewallZone(
            device=device, name=nameif, interfaces=[iface], security_level=cfg.levels.get(iface)
        )
        for nameif, iface in sorted(cfg.nameif.items())
    ]
    result.objects = [
        *cfg.networks.objects(device, "address", lambda v: {"addresses": v}),
        *cfg.services.objects(device, "service", lambda v: {"services": v}),
    ]
    return result
