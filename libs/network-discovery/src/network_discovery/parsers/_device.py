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
from network_discovery.parsers._commands import COMMANDS, CommandSpec, find_command
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers._json import JsonOutputError, json_rows
from network_discovery.parsers._textfsm import TemplateError, run_template
from network_discovery.parsers._values import is_mac
from network_discovery.parsers.report import ParseIssue, ParseReport

__all__ = ["CommandOutput", "DeviceFacts", "parse_device"]

log = structlog.get_logger(__name__)

#: meta.yaml keys copied onto the device record.
_META_FIELDS = ("role", "site", "tenant", "rack", "management_ip", "criticality", "tags")
#: Platforms whose device record may come from meta.yaml alone.
_META_RECORD = frozenset({"linux", "cisco_asa"})
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


def _select(
    platform: str, files: Mapping[str, Source], report: ParseReport, device: str
) -> list[tuple[CommandSpec, str, Source]]:
    """The understood files, a brief form dropped where its detailed form is present."""
    chosen: list[tuple[CommandSpec, str, Source]] = []
    as_json = {Path(n).name.removesuffix(".json") for n in files if n.endswith(".json")}
    for name, source in sorted(files.items()):
        stem = Path(name).name.removesuffix(".txt").removesuffix(".json")
        if name.endswith(".txt") and stem in as_json:
            report.skipped_files.append(str(source))  # the JSON form of it is read
            continue
        spec = find_command(platform, stem)
        if spec is None:
            report.skipped_files.append(str(source))
            report.add(
                ParseIssue(
                    str(source),
                    f"not a command understood on {platform}; ignored",
                    device=device,
                    severity="warning",
                )
            )
            continue
        chosen.append((spec, name, source))
    best: dict[str, int] = {}
    for spec, _, _ in chosen:
        if spec.group:
            best[spec.group] = max(best.get(spec.group, spec.rank), spec.rank)
    kept = [c for c in chosen if c[0].group is None or c[0].rank == best[c[0].group]]
    for spec, _, source in chosen:
        if (spec, _, source) not in kept:
            report.skipped_files.append(str(source))
    return sorted(kept, key=lambda c: _ORDER.get(c[0].kinds[0], 1))


def _run(
    spec: CommandSpec,
    text: str,
    ctx: DeviceContext,
    where: str,
    report: ParseReport,
    *,
    is_json: bool = False,
) -> list[Partial] | None:
    """The partial facts of one file, or None when the file as a whole failed."""
    if spec.parser is not None:
        parsed, problems = spec.parser(text, ctx)
        for line, message in problems:
            # the line is left out, the rest of the file is used
            report.add(ParseIssue(where, message, ctx.device, line, None, "warning"))
        return parsed
    assert spec.template is not None and spec.mapper is not None
    template = str(spec.template)
    try:
        if is_json:
            template = "json"
            rows = json_rows(ctx.platform, spec.command, text)
        else:
            rows = run_template(spec.template, text, ctx.platform)
    except TemplateError as exc:
        report.add(ParseIssue(where, str(exc), ctx.device, exc.line, template))
        return None
    except JsonOutputError as exc:
        report.add(ParseIssue(where, str(exc), ctx.device, None, template))
        return None
    if not rows and spec.kinds == (FactKind.DEVICE,):
        report.add(ParseIssue(where, "the template found nothing", ctx.device, None, template))
        return None
    partials: list[Partial] = []
    failed = False
    for number, row in enumerate(rows, start=1):
        try:
            partials.extend(spec.mapper(row, ctx))
        except (ValueError, KeyError, TypeError) as exc:
            failed = True
            message = f"record {number}: {exc}".replace("\n", " ")
            report.add(ParseIssue(where, message[:300], ctx.device, None, template))
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
    for spec, name, source in _select(platform, files, report, device):
        where = str(source)
        partials = _run(spec, _read(source), ctx, where, report, is_json=name.endswith(".json"))
        if partials is None:
            failed.update(spec.kinds)
            continue
        report.parsed_files.append(where)
        for kind in spec.kinds:
            collected.setdefault(kind, [])
        for p in partials:
            collected.setdefault(p.kind, []).append(p)
            if isinstance(p.value, VLAN) and p.value.name:
                ctx.vlan_tags[p.value.name] = p.value.vlan
        if spec.kinds == (FactKind.DEVICE,):
            try:
                facts.record = _device_record(hostname, ctx, partials, where, report)
            except ValueError as exc:
                report.add(ParseIssue(where, str(exc).replace("\n", " "), device))
                failed.add(FactKind.DEVICE)
        log.debug("parsers.file", device=device, file=name, facts=len(partials))
    for kind in set(collected) - failed:
        _store(facts, kind, collected[kind])
        facts.kinds.add(kind)
    if facts.record is None and facts.kinds and platform in _META_RECORD:
        # no version output (linux has none; an ASA may come with its configuration only):
        # the record is the folder name, the platform and meta.yaml
        facts.record = _device_record(
            hostname, ctx, [Partial(FactKind.DEVICE, {"platform": platform})], "", report
        )
        facts.kinds.add(FactKind.DEVICE)
    if facts.record is None:
        facts.kinds.discard(FactKind.DEVICE)
    return facts, report


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
