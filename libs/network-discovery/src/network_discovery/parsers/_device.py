"""Parsing the command files of one device into facts and its scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from network_discovery.model import (
    VLAN,
    ArpEntry,
    BGPPeer,
    Device,
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
    normalise_hostname,
    normalise_mac,
)
from network_discovery.parsers._commands import COMMANDS, CommandSpec
from network_discovery.parsers._context import (
    DeviceContext,
    MissingContext,
    Partial,
    junos_local_as,
)
from network_discovery.parsers._json import JsonOutputError, structured_rows
from network_discovery.parsers._map_inventory import VENDORS
from network_discovery.parsers._names import resolve_name
from network_discovery.parsers._session import split_session, strip_echo
from network_discovery.parsers._textfsm import TemplateError, run_template
from network_discovery.parsers._values import is_mac
from network_discovery.parsers.report import DeviceSummary, ParseIssue, ParseReport, Severity

__all__ = ["CommandOutput", "DeviceFacts", "parse_device", "sniff_format"]

log = structlog.get_logger(__name__)

#: meta.yaml keys copied onto the device record.
_META_FIELDS = ("role", "site", "tenant", "rack", "management_ip", "criticality", "tags")
# VLAN tables are read first: Junos MAC tables name VLANs rather than number them.
_ORDER = {FactKind.VLANS: 0}


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

    @property
    def scope(self) -> ScopeEntry | None:
        if not self.kinds:
            return None
        return ScopeEntry(device=self.device, facts=tuple(sorted(self.kinds)))


@dataclass(frozen=True)
class CommandOutput:
    """Output held in memory (collected live) rather than in a file; ``where`` names it in
    reports, e.g. ``ssh://core1/show version``."""

    where: str
    text: str

    def __str__(self) -> str:
        return self.where


Source = str | Path | CommandOutput


def _read(source: Source) -> str:
    if isinstance(source, CommandOutput):
        return source.text
    return Path(source).read_text(encoding="utf-8", errors="replace")


def sniff_format(text: str) -> str:
    """``json``, ``xml`` or ``text``, from what the output holds (not from its name)."""
    head = text.lstrip()[:1]
    if head in ("{", "["):
        return "json"
    if head == "<":
        return "xml"
    return "text"


@dataclass(frozen=True)
class _Output:
    """One command's output, ready to read: where it came from and how it is read."""

    spec: CommandSpec
    where: str
    text: str
    fmt: str
    filters: tuple[str, ...] = ()
    args: tuple[str, ...] = ()


def _ignore(report: ParseReport, where: str, device: str, reason: str) -> None:
    report.skipped_files.append(where)
    report.ignored.append((where, reason))
    report.add(ParseIssue(where, f"{reason}; ignored", device=device, severity="warning"))


def _unknown(platform: str, written: str) -> str:
    return f"{written!r} is not a command read on {platform}"


def _outputs(
    platform: str,
    files: Mapping[str, Source],
    report: ParseReport,
    device: str,
    unread: list[str] | None = None,
) -> list[_Output]:
    """Every command output in the files: a file named after its command, or a terminal
    session holding several; what cannot be read is reported with the reason."""
    found: list[_Output] = []
    for name, source in sorted(files.items()):
        where = str(source)
        resolution = resolve_name(platform, Path(name).name)
        text = _read(source)
        if resolution.spec is None:
            session = split_session(text)
            if not session:
                _ignore(report, where, device, _unknown(platform, resolution.written))
                if unread is not None:
                    unread.append(text)
                continue
            for item in session:
                at = f"{where}:{item.line}"
                inner = resolve_name(platform, item.command)
                if inner.spec is None:
                    _ignore(report, at, device, _unknown(platform, item.command))
                    if unread is not None:
                        unread.append(item.output)
                    continue
                found.append(
                    _Output(
                        inner.spec,
                        at,
                        item.output,
                        sniff_format(item.output),
                        inner.filters,
                        inner.args,
                    )
                )
            continue
        text = strip_echo(text)
        found.append(
            _Output(
                resolution.spec,
                where,
                text,
                sniff_format(text),
                resolution.filters,
                resolution.args,
            )
        )
    return found


def _select(
    platform: str,
    files: Mapping[str, Source],
    report: ParseReport,
    device: str,
    unread: list[str] | None = None,
) -> list[_Output]:
    """The outputs to read: empty ones and formats a command is not read in are reported; of
    one command given twice the structured form wins (then the unfiltered, then the first);
    a brief form is dropped where its detailed form is present."""
    usable: list[_Output] = []
    for out in _outputs(platform, files, report, device, unread):
        if not out.text.strip():
            _ignore(report, out.where, device, f"{out.spec.command!r}: the output is empty")
        elif out.fmt == "text" and not out.spec.reads_text:
            _ignore(
                report,
                out.where,
                device,
                f"{out.spec.command!r} is read on {platform} as JSON only: save it with | json",
            )
        elif out.fmt != "text" and out.spec.json is None:
            _ignore(
                report,
                out.where,
                device,
                f"{out.fmt.upper()} output of {out.spec.command!r} is not read on {platform}: "
                "save the text form",
            )
        else:
            usable.append(out)
    best_of: dict[tuple[CommandSpec, tuple[str, ...]], _Output] = {}
    for out in usable:
        known = best_of.get((out.spec, out.args))
        if known is None or _preference(out) < _preference(known):
            best_of[(out.spec, out.args)] = out
    chosen = list(best_of.values())
    for out in usable:
        winner = best_of[(out.spec, out.args)]
        if winner is not out:
            _ignore(report, out.where, device, f"{out.spec.command!r} is read from {winner.where}")
    best: dict[str, int] = {}
    for out in chosen:
        if out.spec.group:
            best[out.spec.group] = max(best.get(out.spec.group, out.spec.rank), out.spec.rank)
    kept = [o for o in chosen if o.spec.group is None or o.spec.rank == best[o.spec.group]]
    for out in chosen:
        if out not in kept:
            report.skipped_files.append(out.where)
            report.ignored.append((out.where, f"the detailed form of {out.spec.group} is read"))
    return sorted(kept, key=lambda o: (_ORDER.get(o.spec.kinds[0], 1), o.where))


def _preference(out: _Output) -> tuple[int, int]:
    return (0 if out.fmt != "text" else 1, 1 if out.filters else 0)


def _run(out: _Output, ctx: DeviceContext, report: ParseReport) -> list[Partial] | None:
    """The partial facts of one output, or None when the output as a whole failed. A
    filtered output (``| include``…) that cannot be read is a warning, not a failure."""
    spec, where = out.spec, out.where
    if spec.parser is not None and out.fmt == "text":
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
    if reported and normalise_hostname(reported) != ctx.device:
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
    selected = _select(platform, files, report, device, unread)
    if platform == "juniper_junos" and not ctx.meta.get("bgp_asn"):
        # "show bgp summary" does not print the local AS; other outputs do
        ctx.local_asn = junos_local_as([*unread, *(o.text for o in selected)])
    for out in selected:
        spec, where = out.spec, out.where
        partials = _run(out, ctx, report)
        if partials is None:
            if not out.filters:
                failed.update(spec.kinds)
            continue
        report.parsed_files.append(where)
        report.read.append((where, spec.command, out.fmt))
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
    merged: dict[str, dict[str, Any]] = {}
    for p in partials:
        assert p.key is not None
        known = merged.get(p.key)
        if known is None:
            merged[p.key] = {**p.value, "next_hops": list(p.value["next_hops"])}
        else:
            known["next_hops"] += [h for h in p.value["next_hops"] if h not in known["next_hops"]]
    return [Route.model_validate(fields) for fields in merged.values()]
