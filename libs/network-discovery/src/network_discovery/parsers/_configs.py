"""Whole-file parsers (configurations, iptables-save) in the shape the command table expects:
the facts as partials, and the lines that could not be read."""

from __future__ import annotations

from collections.abc import Callable

from network_discovery.model import FactKind, IPAddress, canonical_interface_name
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers.config import (
    junos_set_form,
    read_eos_config,
    read_ios_config,
    read_junos_config,
    read_nxos_config,
)
from network_discovery.parsers.config._host import read_host_json
from network_discovery.parsers.config._management import management_settings
from network_discovery.parsers.firewall import (
    PolicyResult,
    parse_asa,
    parse_ios_acls,
    parse_iptables,
    parse_srx,
)

__all__ = [
    "ConfigParser",
    "asa_config",
    "eos_config",
    "host_json",
    "ios_config",
    "ip6tables",
    "iptables",
    "junos_config",
    "nxos_config",
    "srx_config",
]

#: text, device -> (facts, [(line number, problem)])
ConfigParser = Callable[[str, DeviceContext], tuple[list[Partial], list[tuple[int, str]]]]


def _managed(text: str, ctx: DeviceContext) -> Partial:
    """The device's management settings (NTP, logging, AAA, SNMP, remote access)."""
    return Partial(FactKind.DEVICE, management_settings(text, ctx.platform))


def _policy(result: PolicyResult) -> tuple[list[Partial], list[tuple[int, str]]]:
    return [Partial(FactKind.FIREWALL, m) for m in result.models()], result.problems


def ios_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], list[tuple[int, str]]]:
    """The access lists, and what ``show`` output would tell: the device, interfaces,
    addresses, VLANs, connected and static routes (see :mod:`network_discovery.parsers.config`)."""
    policy, policy_problems = _policy(parse_ios_acls(text, ctx.device))
    facts, problems = read_ios_config(text, ctx)
    return [*facts, _managed(text, ctx), *policy], sorted([*problems, *policy_problems])


def nxos_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], list[tuple[int, str]]]:
    """What ``show`` output would tell: the device, interfaces, addresses, VLANs, connected
    and static routes (see :mod:`network_discovery.parsers.config._nxos`)."""
    facts, problems = read_nxos_config(text, ctx)
    return [*facts, _managed(text, ctx)], problems


def eos_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], list[tuple[int, str]]]:
    """What ``show`` output would tell: the device, interfaces, addresses, VLANs, connected
    and static routes (see :mod:`network_discovery.parsers.config._eos`)."""
    facts, problems = read_eos_config(text, ctx)
    return [*facts, _managed(text, ctx)], problems


def junos_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], list[tuple[int, str]]]:
    """A whole Junos configuration, curly or ``| display set``: what ``show`` output would
    tell (see :mod:`network_discovery.parsers.config._junos`) and, where it has a
    ``security`` hierarchy (an SRX), its security policy. A router's configuration has
    none, and no policy is made up for it (an SRX without zones would deny everything)."""
    facts, problems = read_junos_config(text, ctx)
    facts.append(_managed(text, ctx))
    form = junos_set_form(text)
    if not any(words[:1] == ["security"] for _, _, words in form.entries):
        return facts, problems
    set_text = text if form.was_set else form.text()
    policy, policy_problems = _policy(parse_srx(set_text, ctx.device))
    if not form.was_set:  # the lines of the set form made from the curly text
        policy_problems = [(form.line(n), m) for n, m in policy_problems]
    return [*facts, *policy], sorted([*problems, *policy_problems])


def srx_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], list[tuple[int, str]]]:
    return _policy(parse_srx(text, ctx.device))


def iptables(text: str, ctx: DeviceContext) -> tuple[list[Partial], list[tuple[int, str]]]:
    return _policy(parse_iptables(text, ctx.device, family=4))


def ip6tables(text: str, ctx: DeviceContext) -> tuple[list[Partial], list[tuple[int, str]]]:
    return _policy(parse_iptables(text, ctx.device, family=6))


def asa_config(text: str, ctx: DeviceContext) -> tuple[list[Partial], list[tuple[int, str]]]:
    """The ASA's policy, plus its interfaces and addresses (it has no other source here)."""
    result = parse_asa(text, ctx.device)
    partials, problems = _policy(result)
    for name, fields in result.interfaces.items():
        canonical = canonical_interface_name(name)
        partials.append(Partial(FactKind.INTERFACES, {**fields, "name": canonical}, key=canonical))
    for name, address in result.addresses:
        ip = IPAddress(device=ctx.device, interface=name, address=address)
        partials.append(Partial(FactKind.IP_ADDRESSES, ip))
    return partials, problems


def host_json(text: str, ctx: DeviceContext) -> tuple[list[Partial], list[tuple[int, str]]]:
    """A host's interfaces, addresses and gateways from its JSON description."""
    return read_host_json(text, ctx)
