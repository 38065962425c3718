"""What the firewall parsers share: the result they build, address and port notation,
and resolving nested object groups."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import (
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    PortRange,
)
from network_discovery.parsers.firewall._ports import port_number

__all__ = [
    "PolicyResult",
    "Resolver",
    "mask_network",
    "port_ranges",
    "wildcard_network",
]


class LineError(ValueError):
    """A configuration line that could not be read."""


@dataclass
class PolicyResult:
    """Everything one configuration yielded, and the lines it could not read."""

    zones: list[FirewallZone] = field(default_factory=list)
    rulesets: list[FirewallRuleset] = field(default_factory=list)
    rules: list[FirewallRule] = field(default_factory=list)
    objects: list[FirewallObject] = field(default_factory=list)
    #: interface name -> fields (description, ...) the configuration gives
    interfaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (interface, address with prefix length)
    addresses: list[tuple[str, str]] = field(default_factory=list)
    hostname: str | None = None
    #: (1-based line number, what was wrong)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def problem(self, line: int, text: str, why: str) -> None:
        self.problems.append((line, f"{why}: {text.strip()[:160]!r}"))

    def models(self) -> list[Any]:
        return [*self.zones, *self.rulesets, *self.rules, *self.objects]


def mask_network(address: str, mask: str) -> str:
    """``10.0.0.0 255.255.255.0`` -> ``10.0.0.0/24`` (host bits must be zero)."""
    try:
        return str(ipaddress.ip_network(f"{address}/{mask}", strict=True))
    except ValueError as exc:
        raise LineError(f"{address} {mask} is not a network: {exc}") from None


def wildcard_network(address: str, wildcard: str) -> str:
    """``10.0.0.0 0.0.0.255`` -> ``10.0.0.0/24``; a wildcard whose ones are not contiguous
    (``0.0.255.0``) matches no single CIDR and is refused with that reason."""
    try:
        bits = int(ipaddress.IPv4Address(wildcard))
        base = int(ipaddress.IPv4Address(address))
    except ValueError as exc:
        raise LineError(f"{address} {wildcard}: {exc}") from None
    if bits & (bits + 1):
        raise LineError(
            f"wildcard {wildcard} is not contiguous: {address} {wildcard} is no single CIDR"
        )
    length = 32 - bits.bit_length()
    return str(ipaddress.IPv4Network((base & ~bits & 0xFFFFFFFF, length)))


def port_ranges(words: Sequence[str], i: int) -> tuple[list[PortRange], int]:
    """A Cisco port operator at ``words[i]`` (eq, neq, lt, gt, range) -> ranges and the
    index after it; no operator there: ``([], i)``, any port."""
    if i >= len(words):
        return [], i
    op = words[i].lower()
    try:
        if op == "eq":
            ports: list[int] = []
            j = i + 1
            while j < len(words) and _is_port(words[j]):
                ports.append(port_number(words[j]))
                j += 1
            if not ports:
                raise LineError("eq needs a port")
            return [PortRange(lo=p, hi=p) for p in ports], j
        if op == "neq":
            p = port_number(words[i + 1])
            out = ([PortRange(lo=0, hi=p - 1)] if p > 0 else []) + (
                [PortRange(lo=p + 1, hi=65535)] if p < 65535 else []
            )
            return out, i + 2
        if op == "lt":
            return [PortRange(lo=0, hi=port_number(words[i + 1]) - 1)], i + 2
        if op == "gt":
            return [PortRange(lo=port_number(words[i + 1]) + 1, hi=65535)], i + 2
        if op == "range":
            lo, hi = port_number(words[i + 1]), port_number(words[i + 2])
            return [PortRange(lo=lo, hi=hi)], i + 3
    except IndexError:
        raise LineError(f"{op} needs a port") from None
    return [], i


def _is_port(word: str) -> bool:
    try:
        port_number(word)
    except ValueError:
        return False
    return True


class Resolver:
    """Named groups whose members are values or other groups' names, resolved to any
    depth; a cycle or an undefined name is an error naming it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.members: dict[str, list[Any]] = {}
        self.nested: dict[str, list[str]] = {}
        self.text: dict[str, list[str]] = {}
        self._resolved: dict[str, list[Any]] = {}

    def define(self, name: str) -> None:
        self._resolved.clear()
        self.members.setdefault(name, [])
        self.nested.setdefault(name, [])
        self.text.setdefault(name, [])

    def add(self, name: str, value: Any, text: str) -> None:
        self.define(name)
        self.members[name].append(value)
        self.text[name].append(text)

    def add_group(self, name: str, child: str, text: str) -> None:
        self.define(name)
        self.nested[name].append(child)
        self.text[name].append(text)

    def __contains__(self, name: object) -> bool:
        return name in self.members

    def resolve(self, name: str, _seen: tuple[str, ...] = ()) -> list[Any]:
        if not _seen and name in self._resolved:
            return self._resolved[name]
        if name in _seen:
            raise LineError(f"{self.kind} group {name} contains itself")
        if name not in self.members:
            raise LineError(f"{self.kind} object {name} is not defined")
        out = list(self.members[name])
        for child in self.nested[name]:
            out.extend(self.resolve(child, (*_seen, name)))
        if not out and not _seen:
            # an empty list would read as "any" in a rule
            raise LineError(f"{self.kind} group {name} resolves to nothing")
        if not _seen:
            self._resolved[name] = out
        return out

    def objects(
        self, device: str, kind: str, build: Callable[[list[Any]], dict[str, Any]]
    ) -> Iterable[FirewallObject]:
        """Every resolvable object as a model (unresolvable ones are left out)."""
        for name in self.members:
            try:
                resolved = self.resolve(name)
            except LineError:
                continue
            yield FirewallObject(
                device=device, name=name, kind=kind, members=self.text[name], **build(resolved)
            )
