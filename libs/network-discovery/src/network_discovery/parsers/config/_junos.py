"""Juniper Junos ``show configuration`` (the curly-brace form) and ``show configuration |
display set`` as a source of the facts ``show`` output gives.

Both forms are read into one representation, the set form: every statement as the words of
its ``set`` line, with the number of the line it came from (:func:`junos_set_form`). A curly
configuration becomes the lines ``display set`` prints for it: ``inactive:`` statements are
``deactivate`` lines, a ``[ a b ]`` list one line per member; so the two forms of one
configuration yield the same facts. From the statements:

- the device: ``system host-name``, vendor and platform, the OS version (``version``, where
  it names a release: a vQFX prints a build there);
- the interfaces: each port (``interfaces ge-0/0/1``: ``description``, ``disable``, ``mtu``,
  ``speed``, LAG membership by ``gigether-options`` / ``ether-options 802.3ad aeN``) and each
  logical unit (``unit N``, the interface ``ge-0/0/1.N``; unit 0 is the port itself, as
  everywhere in the model): ``description``, ``disable`` (a unit of a disabled port is down
  too), ``family inet`` / ``inet6`` addresses (routed), ``family ethernet-switching``
  ``interface-mode`` (or ``port-mode``) access or trunk with its ``vlan members`` (names,
  tags, ranges, ``all``) and ``native-vlan-id``; the VRF is the routing instance (of type
  ``vrf``, ``virtual-router`` and the like, not a layer-2 one) that lists the unit
  (``routing-instances R interface X.N``), and ``mgmt_junos`` for the management port
  under ``system management-instance``. A port whose only statement is the DHCP client
  the factory default of an EX or QFX sets on every port its model family may have is not
  taken for an interface (a vQFX configuration names some 400 ports it has not);
- the VLANs: ``vlans NAME vlan-id N`` (and ``bridge-domains``);
- the routes the configuration alone decides, marked ``derived``: one connected route per
  subnet of a unit that is not disabled, and the static routes of ``routing-options`` (``rib
  inet6.0`` for IPv6) and of each routing instance: ``route P next-hop H``, ``qualified-next-hop
  H [preference N]``, ``discard``, ``reject``, ``preference``, ``tag``, with the ``static
  defaults`` of their own static block, else preference 5. A next hop must be in a connected
  subnet unless the route says ``resolve``; per prefix, the routes of the lowest preference
  are used. ``next-table``, ``receive`` and LSP next hops forward nowhere here.

Its OSPF and BGP configuration, aggregate routes and policy statements are read too
(:mod:`._junos_routing`), and the routes of every device read together are worked out from
them.

``groups`` are not expanded (read ``show configuration | display inheritance`` to have them
applied), and ``interface-range`` is not either. Other statements are not facts here and are
passed over; a statement of these that cannot be read is a problem, with its line number, and
the rest is still used.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import FactKind, canonical_interface_name, parse_vlan_ranges
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers._map_routes import _hop
from network_discovery.parsers.config._common import ConfigReader, speed_words
from network_discovery.parsers.config._ios import (
    _Interface,
    _is_address,
    _network,
    _number,
    _Static,
    _Unreadable,
    _vlan,
)
from network_discovery.parsers.config._junos_routing import read_junos_routing

__all__ = ["SetForm", "junos_set_form", "read_junos_config"]

Problems = list[tuple[int, str]]
#: (line number, ``set`` or ``deactivate``, the words after it)
Entry = tuple[int, str, list[str]]

_PLATFORM = "juniper_junos"
#: Routing instances that carry no layer-3 table of their own.
_LAYER2_INSTANCES = frozenset(
    {"virtual-switch", "mac-vrf", "evpn", "evpn-vpws", "vpls", "l2vpn", "l2backhaul-vpn"}
)
#: The ports ``system management-instance`` moves into ``mgmt_junos``.
_MANAGEMENT_PORTS = frozenset({"fxp0", "em0", "me0"})
MANAGEMENT_INSTANCE = "mgmt_junos"
#: Interface statements that are not interfaces.
_NOT_INTERFACES = frozenset({"interface-range", "interface-set", "traceoptions", "apply-groups"})
#: Static next hops that forward to no neighbour the configuration names.
_NOWHERE = frozenset(
    {"next-table", "receive", "lsp-next-hop", "p2mp-lsp-next-hop", "static-lsp-next-hop"}
)
_DEFAULT_PREFERENCE = 5
#: What Junos prints around a command's output on a chassis cluster or virtual chassis: not
#: configuration.
_CONTEXT = re.compile(r"^\s*\{(?:master|backup|primary|secondary|linecard)(?::[\w-]+)?\}\s*$")
#: A Junos release (``17.4R1.16``, ``20.2R3-S2.5``, ``23.4X48-D10``).
_RELEASE = re.compile(r"^\d+\.\d+[A-Z]\d")


class _FormError(ValueError):
    """Text that is not a configuration statement (an unbalanced brace, an open quote)."""


# --- one representation of both forms ------------------------------------------------


def _quote(word: str) -> str:
    if word and not any(c in word for c in ' \t"\\;{}[]#'):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class SetForm:
    """A configuration as ``set`` / ``deactivate`` lines, each with the line of the text it
    came from, and what in that text could not be read."""

    entries: list[Entry] = field(default_factory=list)
    problems: Problems = field(default_factory=list)
    #: The text was already in the set form (``| display set``).
    was_set: bool = True

    def text(self) -> str:
        """The set form as Junos prints it (one line per entry)."""
        lines = (f"{verb} {' '.join(map(_quote, words))}" for _, verb, words in self.entries)
        return "\n".join(lines)

    def line(self, number: int) -> int:
        """The line of the original text that line ``number`` of :meth:`text` came from."""
        return self.entries[number - 1][0] if 0 < number <= len(self.entries) else number

    def statements(self) -> list[tuple[int, list[str]]]:
        """The active ``set`` statements: those under a ``deactivate`` are left out."""
        inactive = [words for _, verb, words in self.entries if verb == "deactivate"]
        return [
            (number, words)
            for number, verb, words in self.entries
            if verb == "set" and not any(words[: len(off)] == off for off in inactive)
        ]


def _words(line: str, number: int, special: str = "") -> list[tuple[int, str]]:
    """A line's tokens: quoted strings unquoted, ``special`` characters one token each."""
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(line):
        c = line[i]
        if c.isspace():
            i += 1
        elif c == '"':
            word, i = [], i + 1
            while i < len(line) and line[i] != '"':
                if line[i] == "\\" and i + 1 < len(line):
                    i += 1
                word.append(line[i])
                i += 1
            if i >= len(line):
                raise _FormError("a quoted string is not closed")
            out.append((number, "".join(word)))
            i += 1
        elif c in special:
            out.append((number, c))
            i += 1
        else:
            start = i
            while i < len(line) and not line[i].isspace() and line[i] not in special + '"':
                i += 1
            out.append((number, line[start:i]))
    return out


def _from_set(text: str) -> SetForm:
    form = SetForm()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = [w for _, w in _words(line, number)]
        except _FormError as exc:
            form.problems.append((number, f"{exc}: {line[:160]!r}"))
            continue
        if words[0] in ("set", "deactivate") and len(words) > 1:
            form.entries.append((number, words[0], words[1:]))
    return form


def _tokens(text: str, form: SetForm) -> list[tuple[int, str]]:
    """The curly form's tokens, without comments (``/* */``, and ``#`` to the end of the
    line where it starts a word) and ``{master:0}`` lines."""
    tokens: list[tuple[int, str]] = []
    comment = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if not comment and _CONTEXT.match(line):
            continue
        if comment:
            end = line.find("*/")
            if end < 0:
                continue
            line, comment = line[end + 2 :], False
        while "/*" in line:
            start = line.index("/*")
            end = line.find("*/", start + 2)
            if end < 0:
                line, comment = line[:start], True
                break
            line = line[:start] + " " + line[end + 2 :]
        try:
            words = _words(line, number, "{};[]")
        except _FormError as exc:
            form.problems.append((number, f"{exc}: {raw.strip()[:160]!r}"))
            continue
        for i, (_, word) in enumerate(words):
            if word.startswith("#"):
                words = words[:i]
                break
        tokens += words
    return tokens


@dataclass
class _Block:
    words: list[str]
    inactive: bool
    line: int
    statements: int = 0


def _from_curly(text: str) -> SetForm:
    """The set form of a curly configuration: each leaf statement (ending ``;``) with the
    path of the blocks around it; a block with nothing in it is a statement too."""
    form = SetForm(was_set=False)
    path: list[_Block] = []
    words: list[str | list[str]] = []  # the statement being read; a list is a [ ... ]
    line, inactive, listed = 0, False, False

    def prefix() -> list[str]:
        return [w for block in path for w in block.words]

    def heads() -> list[str]:
        return [w for w in words if isinstance(w, str)]

    for number, piece in _tokens(text, form):
        if listed:
            if piece == "]":
                listed = False
            else:
                members = words[-1]
                assert isinstance(members, list)
                members.append(piece)
        elif not words and piece in ("inactive:", "protect:"):
            inactive, line = inactive or piece == "inactive:", number
        elif piece == "[":
            words.append([])
            listed = True
        elif piece in (";", "{"):
            if path:
                path[-1].statements += 1
            if inactive:
                form.entries.append((line, "deactivate", [*prefix(), *heads()]))
            if piece == "{":
                path.append(_Block(heads(), inactive, line))
            elif words:
                lists = [w for w in words if isinstance(w, list)]
                for member in lists[0] if lists else [None]:
                    tail = [member] if member is not None else []
                    form.entries.append((line, "set", [*prefix(), *heads(), *tail]))
            words, inactive = [], False
        elif piece == "}":
            if words:
                form.problems.append((number, "a statement without ';' before '}'"))
                words = []
            if not path:
                form.problems.append((number, "'}' closes no block"))
                continue
            block = path.pop()
            if not block.statements:  # an empty block is a statement of its own
                form.entries.append((number, "set", [*prefix(), *block.words]))
        else:
            if not words:
                line = number
            words.append(piece)
    if path or words:  # at the block left open (the innermost), or the statement
        where = path[-1].line if path else line
        form.problems.append((where, "the configuration ends inside a block"))
    # a deactivate line after the statements it switches off, as display set prints them
    form.entries.sort(key=lambda e: e[1] == "deactivate")
    return form


def junos_set_form(text: str) -> SetForm:
    """Either form of a Junos configuration as its set form: a text whose first statement
    is ``set ...`` or ``deactivate ...`` is taken as the set form, one whose first statement
    opens or ends a block (``{``, ``;``) as the curly form."""
    for raw in text.splitlines():
        line = raw.strip()
        if line.split(None, 1)[:1] in (["set"], ["deactivate"]):
            return _from_set(text)
        if line.endswith(("{", ";", "}")) and not line.startswith(("#", "/*")):
            break
    return _from_curly(text)


# --- the statements read -------------------------------------------------------------


@dataclass
class _Unit:
    description: str | None = None
    disable: bool = False
    addresses: list[str] = field(default_factory=list)
    routed: bool = False
    switching: bool = False
    mode: str | None = None
    members: list[tuple[int, str]] = field(default_factory=list)
    native: int | None = None


@dataclass
class _Port:
    fields: dict[str, Any] = field(default_factory=dict)
    disable: bool = False
    native: int | None = None
    units: dict[str, _Unit] = field(default_factory=dict)
    #: Configured beyond the factory default's DHCP client (see :func:`_factory_default`).
    configured: bool = False


@dataclass
class _Route:
    vrf: str | None
    prefix: str
    block: tuple[str | None, int]
    hops: list[tuple[list[dict[str, str]], int | None]] = field(default_factory=list)
    preference: int | None = None
    tag: str | None = None
    discard: bool = False
    resolve: bool = False
    nowhere: bool = False


def _address(word: str, version: int) -> str:
    try:
        address = ipaddress.ip_interface(word)
    except ValueError as exc:
        raise _Unreadable(f"{word} is not an address: {exc}") from None
    if "/" not in word or address.version != version:
        raise _Unreadable(f"{word} is not an IPv{version} address with its prefix length")
    return address.with_prefixlen


def _factory_default(words: list[str]) -> bool:
    """``unit 0 family inet dhcp vendor-id Juniper-qfx5100-48s-6q``: what the factory
    default of an EX or QFX switch sets on every port its model family may have, present in
    the box or not (a vQFX configuration names some 400 ports it has not). A port configured
    with nothing else is not taken for an interface of the device."""
    return (
        words[:6] == ["unit", "0", "family", "inet", "dhcp", "vendor-id"]
        and len(words) == 7
        and words[6].startswith("Juniper-")
    )


def _next_hop(word: str) -> list[dict[str, str]]:
    if _is_address(word):
        return _hop(str(ipaddress.ip_address(word)), None)
    return _hop(None, canonical_interface_name(word, _PLATFORM))


@dataclass
class _JunosReader(ConfigReader):
    ports: dict[str, _Port] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)  # instance -> its type
    members: dict[str, str] = field(default_factory=dict)  # unit (canonical) -> instance
    management: bool = False
    vlan_by_name: dict[str, int] = field(default_factory=dict)
    routes: dict[tuple[str | None, str], _Route] = field(default_factory=dict)
    defaults: dict[tuple[str | None, int], dict[str, Any]] = field(default_factory=dict)
    #: The line of the statement being read.
    line: int = 0

    def statement(self, words: list[str]) -> None:
        head = words[0]
        if words[:2] == ["system", "host-name"] and len(words) == 3:
            self.hostname = words[2]
        elif words == ["system", "management-instance"]:
            self.management = True
        elif head == "version" and len(words) == 2:
            self.version = words[1]
            if _RELEASE.match(words[1]):  # a vQFX prints a build ("20191212.201431_builder...")
                self.device["os_version"] = words[1]
        elif head == "interfaces" and len(words) > 2 and words[1] not in _NOT_INTERFACES:
            if "*" not in words[1] and "<" not in words[1]:
                self.port(words[1], words[2:])
        elif head in ("vlans", "bridge-domains") and words[2:3] == ["vlan-id"] and len(words) == 4:
            if words[3].isdigit():
                tag = _vlan(words[3])
                self.vlan_by_name[words[1]] = tag
                self.add_vlan(tag, words[1])
        elif head == "routing-options":
            self.routing_options(None, words[1:])
        elif head == "routing-instances" and len(words) > 3:
            self.instance(words[1], words[2:])

    # interfaces

    def port(self, name: str, words: list[str]) -> None:
        port = self.ports.setdefault(name, _Port())
        port.configured = port.configured or not _factory_default(words)
        head = words[0]
        if head == "unit" and len(words) > 1:
            if not words[1].isdigit():
                raise _Unreadable(f"unit {words[1]!r} is not a number")
            self.unit(port, port.units.setdefault(words[1], _Unit()), words[2:])
        elif head == "description" and len(words) == 2:
            port.fields["description"] = words[1]
        elif words == ["disable"]:
            port.disable = True
        elif head == "mtu" and len(words) == 2:
            port.fields["mtu"] = _number(words[1], 1, 65535, "an MTU")
        elif head == "speed" and len(words) == 2:
            port.fields["speed_mbps"] = speed_words(words)
        elif head in ("gigether-options", "ether-options", "aggregated-ether-options"):
            if words[1:2] == ["802.3ad"] and len(words) == 3 and words[2].startswith("ae"):
                port.fields["lag"] = canonical_interface_name(words[2], _PLATFORM)
        elif head == "native-vlan-id" and len(words) == 2:
            port.native = _vlan(words[1])

    def unit(self, port: _Port, unit: _Unit, words: list[str]) -> None:
        if not words:
            return
        head = words[0]
        if head == "description" and len(words) == 2:
            unit.description = words[1]
        elif words == ["disable"]:
            unit.disable = True
        elif head == "family" and len(words) > 1:
            family, rest = words[1], words[2:]
            if family in ("inet", "inet6"):
                unit.routed = True
                if rest[:1] == ["address"] and len(rest) > 1:
                    unit.addresses.append(_address(rest[1], 4 if family == "inet" else 6))
            elif family == "ethernet-switching":
                unit.switching = True
                if rest[:1] in (["interface-mode"], ["port-mode"]) and len(rest) == 2:
                    unit.mode = rest[1]
                elif rest[:2] == ["vlan", "members"] and len(rest) == 3:
                    unit.members.append((self.line, rest[2]))
                elif rest[:1] == ["native-vlan-id"] and len(rest) == 2:
                    unit.native = _vlan(rest[1])

    # routing

    def instance(self, name: str, words: list[str]) -> None:
        if words[0] == "instance-type" and len(words) == 2:
            self.instances[name] = words[1]
        elif words[0] == "interface" and len(words) == 2:
            self.members[canonical_interface_name(words[1], _PLATFORM)] = name
            self.instances.setdefault(name, "")
        elif words[0] == "routing-options":
            self.routing_options(name, words[1:])

    def routing_options(self, vrf: str | None, words: list[str]) -> None:
        if words[:1] == ["static"]:
            self.static(vrf, 4, words[1:])
        elif words[:1] == ["rib"] and len(words) > 2 and words[2] == "static":
            table = words[1].removeprefix(f"{vrf}.") if vrf else words[1]
            if table in ("inet.0", "inet6.0"):
                self.static(vrf, 6 if table == "inet6.0" else 4, words[3:])

    def static(self, vrf: str | None, version: int, words: list[str]) -> None:
        if words[:1] == ["defaults"] and len(words) == 3:
            defaults = self.defaults.setdefault((vrf, version), {})
            if words[1] == "preference":
                defaults["preference"] = _number(words[2], 0, 4294967295, "a preference")
            elif words[1] == "tag":
                defaults["tag"] = words[2]
            return
        if words[:1] != ["route"] or len(words) < 3:
            return
        prefix = _network(words[1], version)
        route = self.routes.setdefault((vrf, prefix), _Route(vrf, prefix, (vrf, version)))
        option, rest = words[2], words[3:]
        if option == "next-hop" and len(rest) == 1:
            route.hops.append((_next_hop(rest[0]), None))
        elif option == "qualified-next-hop" and rest:
            hop = _next_hop(rest[0])
            preference = None
            if rest[1:2] == ["preference"] and len(rest) == 3:
                preference = _number(rest[2], 0, 4294967295, "a preference")
            known = [h for h in route.hops if h[0] == hop]
            if known and preference is not None:
                route.hops[route.hops.index(known[0])] = (hop, preference)
            elif not known:
                route.hops.append((hop, preference))
        elif option in ("discard", "reject") and not rest:
            route.discard = True
        elif option in _NOWHERE:
            route.nowhere = True
        elif option == "preference" and len(rest) == 1:
            route.preference = _number(rest[0], 0, 4294967295, "a preference")
        elif option == "tag" and len(rest) == 1:
            route.tag = rest[0]
        elif option == "resolve" and not rest:
            route.resolve = True

    # the facts

    def finish(self) -> None:
        self.interfaces_from_ports()
        for route in self.routes.values():
            if route.nowhere:
                continue
            defaults = self.defaults.get(route.block, {})
            preference = route.preference
            if preference is None:
                preference = defaults.get("preference", _DEFAULT_PREFERENCE)
            tag = route.tag if route.tag is not None else defaults.get("tag")
            if not route.hops and route.discard:
                self.statics.append(_Static(route.vrf, route.prefix, [], preference, tag))
            for hops, own in route.hops:
                chosen = own if own is not None else preference
                static = _Static(route.vrf, route.prefix, hops, chosen, tag)
                (self.statics if route.resolve else self.direct_only).append(static)

    def interfaces_from_ports(self) -> None:
        layer3 = {n for n, t in self.instances.items() if t not in _LAYER2_INSTANCES}
        for name, port in self.ports.items():
            if not port.configured:
                continue
            physical = self.by_name(canonical_interface_name(name, _PLATFORM))
            physical.fields.update(port.fields)
            physical.shutdown = port.disable
            for number, unit in port.units.items():
                canonical = canonical_interface_name(f"{name}.{number}", _PLATFORM)
                iface = self.by_name(canonical)
                if unit.description is not None:
                    iface.fields.setdefault("description", unit.description)
                iface.shutdown = port.disable or unit.disable
                iface.addresses += unit.addresses
                vrf = self.members.get(canonical)
                if vrf is None and self.management and name in _MANAGEMENT_PORTS:
                    vrf = MANAGEMENT_INSTANCE
                if vrf is not None and vrf in layer3 | {MANAGEMENT_INSTANCE}:
                    iface.fields["vrf"] = vrf
                if unit.switching:
                    self.switching(iface, port, unit)
                elif unit.routed:
                    iface.fields["mode"] = "routed"

    def switching(self, iface: _Interface, port: _Port, unit: _Unit) -> None:
        tags: set[int] | None = set()
        for number, member in unit.members:
            if member == "all":
                tags = None
                continue
            if member in self.vlan_by_name:
                found: tuple[int, ...] = (self.vlan_by_name[member],)
            else:
                try:
                    found = parse_vlan_ranges(member)
                except ValueError:
                    self.problems.append((number, f"VLAN {member!r} is not defined"))
                    continue
            if tags is not None:
                tags.update(found)
        native = unit.native or port.native
        if unit.mode == "trunk":
            iface.fields["mode"] = "trunk"
            iface.trunk = None if tags is None else frozenset(tags)  # None: all VLANs
            if native is not None:
                iface.fields["native_vlan"] = native
        else:
            iface.fields["mode"] = "access"
            if tags:
                iface.fields["access_vlan"] = min(tags)

    def partials(self) -> list[Partial]:
        # a preference above 255 still orders the routes; the model's distance stops there
        return [_in_range(p) for p in super().partials()]


def _in_range(partial: Partial) -> Partial:
    if partial.kind is FactKind.ROUTES and (partial.value.get("distance") or 0) > 255:
        return Partial(partial.kind, {**partial.value, "distance": None}, key=partial.key)
    return partial


def read_junos_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], Problems]:
    """The facts of a Junos configuration in either form, and the lines that could not be
    read as (line number, problem)."""
    form = junos_set_form(text)
    reader = _JunosReader(ctx)
    reader.problems += form.problems
    statements = form.statements()
    for number, words in statements:
        reader.line = number
        try:
            reader.statement(words)
        except (ValueError, IndexError) as exc:
            reader.problem(number, "set " + " ".join(_quote(w) for w in words), exc)
    reader.finish()
    ctx.routing, routing_problems = read_junos_routing(statements)
    return reader.partials(), sorted([*reader.problems, *routing_problems])
