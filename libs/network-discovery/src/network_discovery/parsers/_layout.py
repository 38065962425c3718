"""A snapshot laid out by kind of source rather than by device: ``configs/`` (one
configuration file per device), ``hosts/`` (one JSON host description per host, naming the
``iptables-save`` file it runs) and ``iptables/`` — the layout Batfish snapshots use.

Each configuration's platform is what its text tells (a ``show version`` banner, or the
syntax of an IOS-style configuration); its device name is its ``hostname`` line, else the
file name. A host file whose name matches a configured device adds to that device (its
packet filter, its interfaces): one device, several sources, each read with its own
platform. Every file is bounded in size and a host's ``iptablesFile`` must lie inside the
snapshot.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from network_discovery.model import (
    FactKind,
    InterfaceRef,
    Link,
    LinkEvidence,
    canonical_interface_name,
    normalise_hostname,
)
from network_discovery.parsers._detect import detect_platform
from network_discovery.parsers._device import DeviceFacts, parse_device
from network_discovery.parsers._select import CommandOutput, Source
from network_discovery.parsers.report import ParseIssue, ParseReport

__all__ = [
    "LAYER1_FILES",
    "LAYOUT_FOLDERS",
    "is_source_layout",
    "read_layer1",
    "read_source_layout",
]

LAYOUT_FOLDERS = ("configs", "hosts", "iptables", "batfish")
#: Where a layer-1 topology (the cabling) may be kept, first found wins.
LAYER1_FILES = ("layer1_topology.json", "batfish/layer1_topology.json")
#: More cables than this in one file is not a topology file.
MAX_LAYER1_EDGES = 1_000_000
#: The largest configuration or host file read.
MAX_FILE_BYTES = 64 * 1024 * 1024
_HOSTNAME = re.compile(
    r"^\s*(?:hostname|switchname|set system host-name|host-name)\s+\"?([A-Za-z0-9._-]+)", re.M
)
#: An IOS-style configuration: "interface X" blocks, "!" separators, "ip address" lines.
_IOS_STYLE = re.compile(r"^interface \S+\s*$", re.M)
_CONFIG_COMMAND = {
    "cisco_ios": "show running-config",
    "cisco_nxos": "show running-config",
    "arista_eos": "show running-config",
    "cisco_asa": "show running-config",
    "juniper_junos": "show configuration",
    "linux": "iptables-save",
}


def is_source_layout(root: Path) -> bool:
    """Whether ``root`` holds ``configs/`` or ``hosts/`` folders of several devices (and
    not a device folder that happens to be called so: that one has a meta.yaml)."""
    return any(
        (root / name).is_dir() and not (root / name / "meta.yaml").exists()
        for name in ("configs", "hosts")
    )


def _read(path: Path, report: ParseReport, device: str) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            report.add(
                ParseIssue(str(path), f"larger than {MAX_FILE_BYTES} bytes: not read", device)
            )
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        report.add(ParseIssue(str(path), f"cannot be read: {exc}", device))
        return None


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith((".", "~")))


def _platform(path: Path, text: str, report: ParseReport) -> str | None:
    platform, seen = detect_platform([(path.name, text)])
    if platform is not None:
        return platform
    if not seen and _IOS_STYLE.search(text):
        report.add(
            ParseIssue(
                str(path),
                "no banner tells the platform: read as cisco_ios (IOS-style syntax)",
                path.stem,
                severity="warning",
            )
        )
        return "cisco_ios"
    why = f"it points to {', '.join(sorted(seen))}" if seen else "nothing in it tells"
    report.add(ParseIssue(str(path), f"platform unknown ({why}): not read", path.stem))
    return None


def _name(path: Path, text: str, report: ParseReport) -> str | None:
    found = _HOSTNAME.search(text)
    name = found[1] if found else path.stem
    try:
        normalise_hostname(name)
    except ValueError as exc:
        report.add(ParseIssue(str(path), f"{exc}; the device is left out", path.stem))
        return None
    return name


def _inside(root: Path, relative: str) -> Path | None:
    candidate = (root / relative).resolve()
    try:
        candidate.relative_to(root.resolve())
    except ValueError:
        return None
    return candidate if candidate.is_file() else None


def _host_sources(
    root: Path, path: Path, report: ParseReport, used: set[Path]
) -> tuple[str, dict[str, Source]] | None:
    text = _read(path, report, path.stem)
    if text is None:
        return None
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        report.add(ParseIssue(str(path), f"not valid JSON: {exc}", path.stem))
        return None
    if not isinstance(data, dict):
        report.add(ParseIssue(str(path), "expected a JSON object", path.stem))
        return None
    name = str(data.get("hostname") or path.stem)
    try:
        normalise_hostname(name)
    except ValueError as exc:
        report.add(ParseIssue(str(path), f"{exc}; the host is left out", path.stem))
        return None
    files: dict[str, Source] = {"host interfaces": CommandOutput(str(path), text)}
    iptables = data.get("iptablesFile")
    if iptables:
        found = _inside(root, str(iptables))
        if found is None:
            report.add(
                ParseIssue(
                    str(path),
                    f"iptablesFile {str(iptables)[:200]!r} is not a file inside the snapshot",
                    name,
                )
            )
        else:
            used.add(found)
            files["iptables-save"] = found
    return name, files


def merge_facts(into: DeviceFacts, other: DeviceFacts) -> None:
    """Add a second source's facts of the same device: an interface or address both
    name is kept once (the first source's fields win), everything else is added."""
    into.kinds |= other.kinds
    if into.record is None:
        into.record = other.record
    known = {i.name: n for n, i in enumerate(into.interfaces)}
    for iface in other.interfaces:
        if iface.name in known:
            mine = into.interfaces[known[iface.name]]
            missing = {
                k: v
                for k, v in iface.model_dump(exclude_unset=True).items()
                if getattr(mine, k, None) in (None, (), "")
            }
            if missing:
                into.interfaces[known[iface.name]] = mine.model_copy(update=missing)
        else:
            into.interfaces.append(iface)
    addresses = {(a.interface, a.address, a.vrf) for a in into.ip_addresses}
    into.ip_addresses += [
        a for a in other.ip_addresses if (a.interface, a.address, a.vrf) not in addresses
    ]
    routes = {r.id for r in into.routes}
    into.routes += [r for r in other.routes if r.id not in routes]
    for f in fields(DeviceFacts):
        if f.name in ("device", "kinds", "record", "interfaces", "ip_addresses", "routes"):
            continue
        mine_value, theirs = getattr(into, f.name), getattr(other, f.name)
        if isinstance(mine_value, list):
            mine_value += theirs
    into.routing = into.routing if into.routing is not None else other.routing
    into.routes_collected = into.routes_collected or other.routes_collected


def read_source_layout(root: Path, report: ParseReport) -> list[DeviceFacts]:
    """Every device of a configs/ hosts/ iptables/ snapshot."""
    sources: dict[str, list[tuple[str, dict[str, Source]]]] = {}
    for path in _files(root / "configs"):
        text = _read(path, report, path.stem)
        if text is None:
            continue
        platform = _platform(path, text, report)
        name = _name(path, text, report) if platform else None
        if platform is None or name is None:
            continue
        command = _CONFIG_COMMAND.get(platform, "show running-config")
        sources.setdefault(name, []).append((platform, {command: CommandOutput(str(path), text)}))
    used: set[Path] = set()
    for path in _files(root / "hosts"):
        if path.suffix.lower() != ".json":
            continue
        found = _host_sources(root, path, report, used)
        if found is not None:
            sources.setdefault(found[0], []).append(("linux", found[1]))
    for path in _files(root / "iptables"):
        if path.resolve() in used:
            continue
        name = path.stem
        if name in sources:  # named after a configured device: its packet filter
            sources[name].append(("linux", {"iptables-save": path}))
        else:
            report.add(
                ParseIssue(
                    str(path),
                    "no host file names it and no device is called so: not read",
                    name,
                    severity="warning",
                )
            )
    parsed: list[DeviceFacts] = []
    for name in sorted(sources):
        merged: DeviceFacts | None = None
        for platform, files in sources[name]:
            facts, device_report = parse_device(name, platform, files, {})
            report.extend(device_report)
            if merged is None:
                merged = facts
            else:
                merge_facts(merged, facts)
        if merged is not None and merged.scope is not None:
            parsed.append(merged)
    return parsed


def _end(value: Any, platforms: dict[str, str]) -> tuple[str, str] | None:
    if not isinstance(value, dict):
        return None
    host, name = value.get("hostname"), value.get("interfaceName")
    if not isinstance(host, str) or not isinstance(name, str):
        return None
    try:
        device = normalise_hostname(host)
    except ValueError:
        return None
    if device not in platforms:
        return None
    return device, canonical_interface_name(name[:64], platforms[device])


def read_layer1(root: Path, parsed: list[DeviceFacts], report: ParseReport) -> list[Link]:
    """The cables a layer-1 topology file declares (``{"edges": [{"node1": {"hostname",
    "interfaceName"}, "node2": {...}}]}``), between devices of the snapshot; each device
    with one claims the ``links`` fact kind. A cable to a device not in the snapshot is
    left out with a warning."""
    found = next((root / name for name in LAYER1_FILES if (root / name).is_file()), None)
    if found is None:
        return []
    text = _read(found, report, "layer1")
    if text is None:
        return []
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        report.add(ParseIssue(str(found), f"not valid JSON: {exc}", "layer1"))
        return []
    edges = data.get("edges") if isinstance(data, dict) else None
    if not isinstance(edges, list) or len(edges) > MAX_LAYER1_EDGES:
        report.add(ParseIssue(str(found), 'expected {"edges": [...]}', "layer1"))
        return []
    platforms = {dev.device: dev.record.platform or "" for dev in parsed if dev.record is not None}
    links: dict[str, Link] = {}
    skipped = 0
    for edge in edges:
        a = _end(edge.get("node1") if isinstance(edge, dict) else None, platforms)
        b = _end(edge.get("node2") if isinstance(edge, dict) else None, platforms)
        if a is None or b is None or a == b:
            skipped += 1
            continue
        link = Link(
            a=InterfaceRef(device=a[0], interface=a[1]),
            b=InterfaceRef(device=b[0], interface=b[1]),
            evidence=LinkEvidence.LAYER1_DECLARED,
        )
        links.setdefault(link.id, link)
    if skipped:
        report.add(
            ParseIssue(
                str(found),
                f"{skipped} edges name a device not in the snapshot or are not "
                "{node1: {hostname, interfaceName}, node2: {...}}: left out",
                "layer1",
                severity="warning",
            )
        )
    owners = {d for link in links.values() for d in link.devices}
    for dev in parsed:
        if dev.device in owners:
            dev.kinds.add(FactKind.LINKS)
    return list(links.values())
