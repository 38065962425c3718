"""Juniper SRX ``show configuration security | display set`` (and, appended to it,
``show configuration applications | display set``): zones and their interfaces, address
books and address sets, custom applications and application sets (``junos-*`` predefined
ones from a built-in table), zone-pair policies in configuration order, global policies
after them, and the default policy. Deactivated policies are kept, disabled."""

from __future__ import annotations

import ipaddress
import shlex
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
from network_discovery.parsers.firewall._common import LineError, PolicyResult, Resolver
from network_discovery.parsers.firewall._ports import JUNOS_APPLICATIONS

__all__ = ["RULESET", "parse_srx"]

#: The one rule set an SRX policy becomes.
RULESET = "security-policies"
_ANY = {"any": [], "any-ipv4": ["0.0.0.0/0"], "any-ipv6": ["::/0"]}
_ACTIONS = {"permit": "permit", "deny": "deny", "reject": "reject"}


@dataclass
class _Policy:
    name: str
    line: int
    src_zone: str | None = None
    dst_zone: str | None = None
    sources: list[str] = field(default_factory=list)
    destinations: list[str] = field(default_factory=list)
    applications: list[str] = field(default_factory=list)
    action: str | None = None
    log: bool = False
    enabled: bool = True
    comment: str | None = None
    texts: list[str] = field(default_factory=list)
    problem: str | None = None


@dataclass
class _Srx:
    zones: dict[str, list[str]] = field(default_factory=dict)
    addresses: Resolver = field(default_factory=lambda: Resolver("address"))
    apps: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # app -> term
    app_sets: Resolver = field(default_factory=lambda: Resolver("application"))
    policies: dict[tuple[str, str, str], _Policy] = field(default_factory=dict)
    default: tuple[str, str] | None = None


def _address(srx: _Srx, words: list[str], text: str) -> None:
    """``address NAME PREFIX|range-address A to B|description ..`` / ``address-set ...``."""
    kind, name, rest = words[0], words[1], words[2:]
    if kind == "address":
        if not rest or rest[0] == "description":
            srx.addresses.define(name)
        elif rest[0] == "range-address":
            first, last = ipaddress.ip_address(rest[1]), ipaddress.ip_address(rest[3])
            for net in ipaddress.summarize_address_range(first, last):
                srx.addresses.add(name, str(net), text)
        elif rest[0] in ("dns-name", "wildcard-address"):
            raise LineError(f"{rest[0]} addresses are not supported")
        else:
            srx.addresses.add(name, str(ipaddress.ip_network(rest[0], strict=False)), text)
    elif kind == "address-set" and rest[0] in ("address", "address-set"):
        srx.addresses.add_group(name, rest[1], text)


def _application(srx: _Srx, words: list[str], text: str) -> None:
    kind, name, rest = words[0], words[1], words[2:]
    if kind == "application-set":
        if rest[0] in ("application", "application-set"):
            srx.app_sets.add_group(name, rest[1], text)
        return
    term = "-"
    if rest and rest[0] == "term":
        term, rest = rest[1], rest[2:]
    fields = srx.apps.setdefault(name, {}).setdefault(term, {})
    if len(rest) >= 2 and rest[0] in ("protocol", "destination-port", "source-port", "icmp-type"):
        fields[rest[0]] = rest[1]


def _services(srx: _Srx, name: str, seen: tuple[str, ...] = ()) -> list[Service]:
    """An application or application set (nested to any depth) as services."""
    if name in JUNOS_APPLICATIONS:
        return list(JUNOS_APPLICATIONS[name])
    if name in srx.apps:
        return [_term(t) for t in srx.apps[name].values()]
    if name.startswith("junos-"):
        raise LineError(f"predefined application {name} is not in the built-in table")
    if name in seen:
        raise LineError(f"application set {name} contains itself")
    if name not in srx.app_sets:
        raise LineError(f"application {name} is not defined")
    return [s for child in srx.app_sets.nested[name] for s in _services(srx, child, (*seen, name))]


def _term(fields: dict[str, Any]) -> Service:
    def ports(key: str) -> list[str]:
        value = fields.get(key)
        return [value] if value and value != "0" else []

    icmp = fields.get("icmp-type")
    return Service(
        protocol=fields.get("protocol", "any"),
        dst_ports=ports("destination-port"),
        src_ports=ports("source-port"),
        icmp_type=int(icmp) if icmp and icmp.isdigit() else None,
    )


def _policy_line(srx: _Srx, words: list[str], number: int, text: str, active: bool) -> None:
    """``policies from-zone A to-zone B policy P ...`` or ``policies global policy P ...``."""
    if words[0] == "default-policy":
        srx.default = ("permit" if words[1] == "permit-all" else "deny", text)
        return
    if words[0] == "from-zone" and words[2] == "to-zone" and words[4] == "policy":
        key, rest = (words[1], words[3], words[5]), words[6:]
    elif words[0] == "global" and words[1] == "policy":
        key, rest = ("", "", words[2]), words[3:]
    else:
        return  # policy-rematch, pre-id-default-policy, ...: no effect on first match
    policy = srx.policies.get(key)
    if policy is None:
        policy = srx.policies[key] = _Policy(key[2], number, key[0] or None, key[1] or None)
    policy.texts.append(text)
    if not active:
        policy.enabled = False
        return
    if rest[:1] == ["description"]:
        policy.comment = " ".join(rest[1:])
    elif rest[:1] == ["match"] and len(rest) >= 3:
        what, value = rest[1], rest[2]
        if what == "source-address":
            policy.sources.append(value)
        elif what == "destination-address":
            policy.destinations.append(value)
        elif what == "application":
            policy.applications.append(value)
        elif what == "from-zone":
            policy.src_zone = value
        elif what == "to-zone":
            policy.dst_zone = value
        elif what in ("source-address-excluded", "destination-address-excluded", "source-identity"):
            policy.problem = f"'match {what}' is not supported"
    elif rest[:1] == ["then"] and len(rest) >= 2:
        if rest[1] in _ACTIONS:
            policy.action = _ACTIONS[rest[1]]
        elif rest[1] == "log":
            policy.log = True


def _resolve_addresses(srx: _Srx, names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        if name in _ANY:
            if name == "any":
                return []
            out.extend(_ANY[name])
        else:
            out.extend(srx.addresses.resolve(name))
    return out


def _read(text: str, result: PolicyResult) -> _Srx:
    srx = _Srx()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "{", "}")) or " " not in line:
            continue
        try:
            words = shlex.split(line)
            verb, words = words[0], words[1:]
            if verb not in ("set", "deactivate") or not words:
                continue
            active = verb == "set"
            if words[0] == "applications" and active:
                _application(srx, words[1:], line)
            elif words[0] != "security" or len(words) < 3:
                continue
            elif words[1] == "policies":
                _policy_line(srx, words[2:], number, line, active)
            elif words[1:3] == ["zones", "security-zone"] and active:
                zone = srx.zones.setdefault(words[3], [])
                if len(words) > 5 and words[4] == "interfaces":
                    iface = canonical_interface_name(words[5], "juniper_junos")
                    if iface not in zone:
                        zone.append(iface)
                elif len(words) > 6 and words[4] == "address-book":
                    _address(srx, words[5:], line)
            elif words[1] == "address-book" and len(words) > 4 and active:
                if words[3] in ("address", "address-set"):
                    _address(srx, words[3:], line)
        except (LineError, ValueError, IndexError) as exc:
            result.problem(number, raw, str(exc) or "incomplete line")
    return srx


def parse_srx(text: str, device: str) -> PolicyResult:
    """Zones, address book, applications and the ordered security policy of one SRX."""
    result = PolicyResult()
    srx = _read(text, result)
    default_action, default_text = srx.default or ("deny", None)
    result.rulesets.append(
        FirewallRuleset(
            device=device,
            name=RULESET,
            kind="zone_policy",
            default_action=default_action,
            default_text=default_text,
            bindings=[RulesetBinding(direction="transit")],
        )
    )
    zone_pairs = [p for k, p in srx.policies.items() if k[0]]
    global_policies = [p for k, p in srx.policies.items() if not k[0]]
    for position, policy in enumerate(zone_pairs + global_policies, start=1):
        first = policy.texts[0]
        try:
            if policy.problem:
                raise LineError(policy.problem)
            if policy.action is None:
                raise LineError(f"policy {policy.name} has no 'then permit|deny|reject'")
            services = [s for app in policy.applications or ["any"] for s in _services(srx, app)]
            sources = _resolve_addresses(srx, policy.sources)
            destinations = _resolve_addresses(srx, policy.destinations)
        except (LineError, ValueError) as exc:
            result.problem(policy.line, first, str(exc))
            continue
        result.rules.append(
            FirewallRule(
                device=device,
                ruleset=RULESET,
                position=position,
                name=policy.name,
                action=policy.action,
                src_zones=[policy.src_zone] if policy.src_zone else [],
                dst_zones=[policy.dst_zone] if policy.dst_zone else [],
                sources=sources,
                destinations=destinations,
                source_names=policy.sources or ["any"],
                destination_names=policy.destinations or ["any"],
                services=[] if Service() in services else services,
                service_names=policy.applications or ["any"],
                enabled=policy.enabled,
                log=policy.log,
                comment=policy.comment,
                text="\n".join(policy.texts),
            )
        )
    result.zones = [
        FirewallZone(device=device, name=name, interfaces=ifaces)
        for name, ifaces in sorted(srx.zones.items())
    ]
    result.objects = list(srx.addresses.objects(device, "address", lambda v: {"addresses": v}))
    return result
