"""Parsing the command files of one device into facts and its scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from network_discovery.model import (
    CONFIG_MAX_CHARS,
    VLAN,
    ArpEntry,
    BGPPeer,
    Device,
    DeviceConfig,
    FactKind,
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    Interface,
    IPAddress,
    MacTableEntry,
    NeighborObservation,
    Route,
    ScopeEntry,
    hostname_slug,
    normalise_hostname,
    normalise_mac,
)
from network_discovery.parsers._commands import COMMANDS
from network_discovery.parsers._context import (
    DeviceContext,
    MissingContext,
    Partial,
    junos_local_as,
)
from network_discovery.parsers._json import JsonOutputError, structured_rows
from network_discovery.parsers._map_inventory import VENDORS
from network_discovery.parsers._select import (
    CommandOutput,
    Output,
    Source,
    select_outputs,
    sniff_format,
)
from network_discovery.parsers._textfsm import TemplateError, run_template
from network_discovery.parsers._values import is_mac
from network_discovery.parsers.report import DeviceSummary, ParseIssue, ParseReport, Severity

__all__ = ["CommandOutput", "DeviceFacts", "parse_device", "sniff_format"]

log = structlog.get_logger(__name__)

#: meta.yaml keys copied onto the device record.
_META_FIELDS = ("role", "site", "tenant", "rack", "management_ip", "criticality", "tags")
#: The commands that print the whole running configuration (``show run`` is an alias of the
#: first; Junos ``show configuration | display set`` a variant of the second).
_RUNNING_CONFIG = frozenset({"show running-config", "show configuration"})


@dataclass
class DeviceFacts:
    """Everything parsed from one device, and the fact kinds it may claim in a scope."""

    device: str
    kinds: set[FactKind] = field(default_factory=set)
    record: Device | None = None
    interfaces: list[Interface] = field(default_factory=list)
    ip_addresses: list[IPAddress] = field(default_factory=list)
    vlans: list[VLAN] = field(default_factory=list)
    neighbors: list[NeighborObservation] = field(default_factory=list)
    arp: list[ArpEntry] = field(default_factory=list)
    mac_table: list[MacTableEntry] = field(default_factory=list)
    bgp_peers: list[BGPPeer] = field(default_factory=list)
    firewall_zones: list[FirewallZone] = field(default_factory=list)
    firewall_rulesets: list[FirewallRuleset] = field(default_factory=list)
    firewall_rules: list[FirewallRule] = field(default_factory=list)
    firewall_objects: list[FirewallObject] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    #: What its configuration says about routing protocols (``RoutingConfig``), if read.
    routing: Any = None
    #: Whether a routing table the device printed was read.
    routes_collected: bool = False
    #: The running configuration's text as printed (for the compliance rules), if collected.
    config: DeviceConfig | None = None

    @property
    def scope(self) -> ScopeEntry | None:
        if not self.kinds:
            return None
        return ScopeEntry(device=self.device, facts=tuple(sorted(self.kinds)))


def _run(out: Output, ctx: DeviceContext, report: ParseReport) -> list[Partial] | None:
    """The partial facts of one output, or None when the output as a whole failed. A
    filtered output (``| include``…) that cannot be read is a warning, not a failure."""
    spec, where = out.spec, out.where
    if spec.parser is not None and out.fmt in spec.parser_formats:
        parsed, problems = spec.parser(out.text, ctx)
        for line, message in problems:
            # the line is left out, the rest of the file is used
            report.add(ParseIssue(where, message, ctx.device, line, None, "warning"))
        return parsed
    assert spec.mapper is not None
    template = str(spec.template) if out.fmt == "text" else out.fmt
    severity: Severity = "warning" if out.filters else "error"
    try:
        if out.fmt == "text":
            assert spec.template is not None
            rows = run_template(spec.template, out.text, ctx.platform)
            if spec.enrich is not None:
                extra = spec.enrich(out.text)
                rows = [{**extra, **row} for row in rows]
        else:
            rows = structured_rows(spec, ctx.platform, out.text, out.fmt)
    except TemplateError as exc:
        report.add(ParseIssue(where, str(exc), ctx.device, exc.line, template, severity))
        return None
    except JsonOutputError as exc:
        report.add(ParseIssue(where, str(exc), ctx.device, None, template, severity))
        return None
    if not rows and spec.kinds == (FactKind.DEVICE,):
        report.add(ParseIssue(where, "the template found nothing", ctx.device, None, template))
        return None
    partials: list[Partial] = []
    failed = False
    for number, row in enumerate(rows, start=1):
        try:
            partials.extend(spec.mapper(row, ctx))
        except MissingContext as exc:
            # the output is fine; what it needs to become facts is not there: say so once
            report.add(ParseIssue(where, str(exc)[:300], ctx.device, None, template, "warning"))
            return None
        except (ValueError, KeyError, TypeError) as exc:
            failed = True
            message = f"record {number}: {exc}".replace("\n", " ")
            report.add(ParseIssue(where, message[:300], ctx.device, None, template, severity))
    return None if failed else partials


def _merge_interfaces(partials: Iterable[Partial], device: str) -> list[Interface]:
    merged: dict[str, dict[str, Any]] = {}
    for p in partials:
        current = merged.setdefault(p.key or p.value["name"], {})
        for key, value in p.value.items():
            current.setdefault(key, value)
    return [Interface(device=device, **fields) for fields in merged.values()]


def _device_record(
    hostname: str, ctx: DeviceContext, partials: list[Partial], where: str, report: ParseReport
) -> Device | None:
    fields: dict[str, Any] = {}
    for p in partials:
        for key, value in p.value.items():
            fields.setdefault(key, value)
    reported = fields.pop("reported_hostname", None)
    chassis = fields.get("chassis_id")
    if chassis and is_mac(chassis):
        fields["chassis_id"] = normalise_mac(chassis)
    if reported and hostname_slug(reported) != ctx.device:
        report.add(
            ParseIssue(
                where,
                f"the device calls itself {reported!r}; the directory name {hostname!r} is used",
                ctx.device,
                severity="warning",
            )
        )
    for key in _META_FIELDS:
        if ctx.meta.get(key) is not None:
            fields[key] = ctx.meta[key]
    if ctx.meta.get("vendor"):
        fields["vendor"] = ctx.meta["vendor"]
    return Device(hostname=hostname, **fields)


def parse_device(
    hostname: str,
    platform: str,
    files: Mapping[str, Source],
    meta: Mapping[str, Any] | None = None,
) -> tuple[DeviceFacts, ParseReport]:
    """Parse one device's command files (``{file name: path}``, or a
    :class:`CommandOutput` held in memory) into its facts.

    A fact kind is claimed (put in the scope) only when every file that yields it parsed
    cleanly; a file that fails is reported and its kinds are left out, the rest goes on.
    """
    report = ParseReport()
    device = normalise_hostname(hostname)
    if platform not in COMMANDS:
        raise ValueError(f"unknown platform {platform!r}: expected one of {', '.join(COMMANDS)}")
    ctx = DeviceContext(device=device, platform=platform, meta=dict(meta or {}))
    facts = DeviceFacts(device=device)
    collected: dict[FactKind, list[Partial]] = {}
    failed: set[FactKind] = set()
    identity: list[Partial] = []
    identity_from: list[str] = []
    unread: list[str] = []
    table_read = False  # a routing table the device printed (not one worked out from a config)
    selected = select_outputs(platform, files, report, device, unread)
    if platform == "juniper_junos" and not ctx.meta.get("bgp_asn"):
        # "show bgp summary" does not print the local AS; other outputs do
        ctx.local_asn = junos_local_as([*unread, *(o.text for o in selected)])
    for out in selected:
        spec, where = out.spec, out.where
        if _is_running_config(out):
            text = out.text[:CONFIG_MAX_CHARS]  # a longer one cut there, and so marked cut
            facts.config = DeviceConfig(device=device, text=text, source=where[-200:])
        partials = _run(out, ctx, report)
        if partials is None:
            if not out.filters:
                failed.update(spec.kinds)
            continue
        report.parsed_files.append(where)
        report.read.append((where, spec.command, out.fmt))
        table_read = table_read or (FactKind.ROUTES in spec.kinds and spec.parser is None)
        for kind in spec.kinds:
            collected.setdefault(kind, [])
        for p in partials:
            collected.setdefault(p.kind, []).append(p)
            if isinstance(p.value, VLAN) and p.value.name:
                ctx.vlan_tags[p.value.name] = p.value.vlan
        mine = [p for p in partials if p.kind is FactKind.DEVICE]
        if mine:  # show version speaks first; other commands fill what it left out
            first = spec.command == "show version"
            if first:
                identity[0:0] = mine
                identity_from.insert(0, where)
            else:
                identity.extend(mine)
                identity_from.append(where)
        log.debug("parsers.file", device=device, file=where, facts=len(partials))
    for kind in set(collected) - failed - {FactKind.DEVICE}:
        _store(facts, kind, collected[kind])
        facts.kinds.add(kind)
    _arp_vrfs(facts)
    facts.routing = ctx.routing
    facts.routes_collected = table_read
    # A folder that names its platform is a collected device, whether or not a command
    # told its identity: the record is built from every command that did (show version,
    # show system information, show inventory…), then the platform and meta.yaml.
    base = Partial(FactKind.DEVICE, {"platform": platform, "vendor": VENDORS.get(platform)})
    where = identity_from[0] if identity_from else ""
    try:
        facts.record = _device_record(hostname, ctx, [*identity, base], where, report)
    except ValueError as exc:
        report.add(ParseIssue(where, str(exc).replace("\n", " "), device))
        facts.record = _device_record(hostname, ctx, [base], where, report)
    facts.kinds.add(FactKind.DEVICE)
    summary = DeviceSummary(
        device=device,
        platform=platform,
        read=len(report.read),
        ignored=len(report.ignored),
        errors=len(report.errors),
        facts={
            "interfaces": len(facts.interfaces),
            "addresses": len(facts.ip_addresses),
            "neighbors": len(facts.neighbors),
            "arp": len(facts.arp),
            "macs": len(facts.mac_table),
            "vlans": len(facts.vlans),
            "routes": len(facts.routes),
            "bgp": len(facts.bgp_peers),
            "rules": len(facts.firewall_rules),
        },
        identified=bool(identity),
    )
    report.devices.append(summary)
    if summary.empty:
        report.add(
            ParseIssue(
                device,
                "the device yielded no identity, interfaces, addresses or neighbours",
                device,
                severity="warning",
            )
        )
    return facts, report


def _is_running_config(out: Output) -> bool:
    """Whether ``out`` is the device's whole running configuration, as text (not the startup
    configuration, not a filtered or partial one)."""
    return (
        out.spec.command in _RUNNING_CONFIG
        and out.fmt == "text"
        and not out.filters
        and not out.args
        and not any("startup" in w for w in out.words)
        and bool(out.text.strip())
    )


def _arp_vrfs(facts: DeviceFacts) -> None:
    """An ARP entry printed without its VRF (NX-OS "vrf all" JSON) is in the VRF of the
    interface it was learned on, where the device's addresses say which."""
    vrf_of = {a.interface: a.vrf for a in facts.ip_addresses if a.vrf}
    if vrf_of:
        facts.arp = [
            e.model_copy(update={"vrf": vrf_of[e.interface]})
            if e.vrf is None and e.interface in vrf_of
            else e
            for e in facts.arp
        ]


def _store(facts: DeviceFacts, kind: FactKind, partials: list[Partial]) -> None:
    if kind is FactKind.INTERFACES:
        facts.interfaces = _merge_interfaces(partials, facts.device)
        return
    if kind is FactKind.DEVICE:
        return
    if kind is FactKind.FIREWALL:
        _store_policy(facts, partials)
        return
    if kind is FactKind.ROUTES:
        facts.routes = _merge_routes(partials)
        return
    lists: dict[FactKind, list[Any]] = {
        FactKind.IP_ADDRESSES: facts.ip_addresses,
        FactKind.VLANS: facts.vlans,
        FactKind.LLDP: facts.neighbors,
        FactKind.CDP: facts.neighbors,
        FactKind.ARP: facts.arp,
        FactKind.MAC_TABLE: facts.mac_table,
        FactKind.BGP: facts.bgp_peers,
    }
    target = lists[kind]
    seen = {item.id: index for index, item in enumerate(target)}
    for p in partials:
        index = seen.get(p.value.id)
        if index is None:
            seen[p.value.id] = len(target)
            target.append(p.value)
        elif kind is FactKind.IP_ADDRESSES and p.value.vrf and not target[index].vrf:
            # the same address from two commands: "show interface" does not name the VRF,
            # "show ip interface vrf all" does
            target[index] = p.value


def _store_policy(facts: DeviceFacts, partials: list[Partial]) -> None:
    """Firewall models into their lists; a zone two files name (iptables and ip6tables)
    once, with the interfaces of both."""
    zones: dict[str, FirewallZone] = {}
    targets: dict[type, list[Any]] = {
        FirewallRuleset: facts.firewall_rulesets,
        FirewallRule: facts.firewall_rules,
        FirewallObject: facts.firewall_objects,
    }
    for p in partials:
        model = p.value
        if isinstance(model, FirewallZone):
            known = zones.get(model.id)
            if known is not None:
                merged = tuple(dict.fromkeys(known.interfaces + model.interfaces))
                model = known.model_copy(update={"interfaces": merged})
            zones[model.id] = model
        else:
            targets[type(model)].append(model)
    facts.firewall_zones = list(zones.values())


def _merge_routes(partials: list[Partial]) -> list[Route]:
    """One route per key, with the next hops of every row (and file) that named it."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for p in partials:
        assert p.key is not None
        key = (p.key, str(p.value.get("origin") or "collected"))  # printed and derived apart
        known = merged.get(key)
        if known is None:
            merged[key] = {**p.value, "next_hops": list(p.value["next_hops"])}
        else:
            known["next_hops"] += [h for h in p.value["next_hops"] if h not in known["next_hops"]]
    return [Route.model_validate(fields) for fields in merged.values()]
