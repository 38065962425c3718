"""A directory of device output (``DIR/<hostname>/<command>.txt`` + ``meta.yaml``) or a
native snapshot file, read into one :class:`~network_discovery.model.Snapshot`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
import yaml
from pydantic import ValidationError

from network_discovery.model import FactKind, Link, ScopeEntry, Snapshot, normalise_hostname
from network_discovery.parsers._commands import PLATFORMS
from network_discovery.parsers._detect import detect_platform
from network_discovery.parsers._device import DeviceFacts, parse_device
from network_discovery.parsers._fabric_files import FabricFacts, fabric_tool, read_fabric
from network_discovery.parsers._gpu_files import GpuHostFacts, gpu_tool, read_gpus
from network_discovery.parsers._layout import (
    LAYOUT_FOLDERS,
    is_source_layout,
    merge_facts,
    read_layer1,
    read_source_layout,
)
from network_discovery.parsers._names import resolve_name
from network_discovery.parsers._nccl_files import NcclJobFacts, is_job_folder, read_job
from network_discovery.parsers._routing import add_protocol_routes
from network_discovery.parsers._session import split_session
from network_discovery.parsers.report import ParseIssue, ParseReport

__all__ = [
    "META_FILE",
    "META_KEYS",
    "load_snapshot_file",
    "parse_directory",
    "snapshot_from_facts",
]

log = structlog.get_logger(__name__)

META_FILE = "meta.yaml"
#: Keys a meta.yaml may hold; ``platform`` is required.
META_KEYS = frozenset(
    {
        "platform",
        "hostname",
        "vendor",
        "role",
        "site",
        "tenant",
        "rack",
        "management_ip",
        "criticality",
        "tags",
        "bgp_asn",
    }
)
#: How much of each file is read to tell the platform when meta.yaml is missing.
_DETECT_BYTES = 8 * 1024 * 1024
_ID_CHARS = re.compile(r"[^A-Za-z0-9._:@-]+")


class SnapshotFileError(ValueError):
    """A snapshot file that cannot be read or is not a valid snapshot; says what to fix."""


def load_snapshot_file(path: str | Path) -> Snapshot:
    """A native snapshot written as JSON (``.json``) or YAML (``.yaml``/``.yml``)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotFileError(f"cannot read {file}: {exc}") from exc
    is_yaml = file.suffix.lower() in {".yaml", ".yml"}
    try:
        data: Any = yaml.safe_load(text) if is_yaml else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "YAML" if is_yaml else "JSON"
        reason = " ".join(str(exc).split())  # YAML errors span lines; one line here
        raise SnapshotFileError(f"{file} is not valid {kind}: {reason}") from exc
    try:
        return Snapshot.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        raise SnapshotFileError(
            f"{file}: not a valid snapshot ({exc.error_count()} errors; first at {where}: "
            f"{first['msg']})"
        ) from exc


def _read_meta(folder: Path, report: ParseReport) -> dict[str, Any] | None:
    meta_file = folder / META_FILE
    where = str(meta_file)
    if not meta_file.is_file():
        return _detected_meta(folder, report)
    try:
        meta = yaml.safe_load(meta_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        report.add(ParseIssue(where, f"not valid YAML: {exc}", folder.name, line))
        return None
    if not isinstance(meta, dict):
        report.add(ParseIssue(where, "expected a mapping of keys to values", folder.name))
        return None
    unknown = sorted(set(meta) - META_KEYS)
    if unknown:
        report.add(
            ParseIssue(where, f"unknown keys {', '.join(unknown)}", folder.name, severity="warning")
        )
    platform = meta.get("platform")
    if platform not in PLATFORMS:
        report.add(
            ParseIssue(
                where,
                f"platform {platform!r} is not one of {', '.join(PLATFORMS)}",
                folder.name,
            )
        )
        return None
    return meta


def _by_platform(platform: str, files: dict[str, Path]) -> tuple[dict[str, Path], dict[str, Path]]:
    """The files the device's platform reads, and those only a Linux host's commands name
    (``iptables-save`` beside a router's configuration): one device, two sources."""
    if platform == "linux":
        return files, {}
    own: dict[str, Path] = {}
    hosted: dict[str, Path] = {}
    for name, file in files.items():
        if resolve_name(platform, name).spec is None and resolve_name("linux", name).spec:
            hosted[name] = file
        else:
            own[name] = file
    return own, hosted


def _output_files(folder: Path) -> dict[str, Path]:
    return {
        f.name: f
        for f in sorted(folder.iterdir())
        if f.is_file() and f.name != META_FILE and not f.name.startswith((".", "~"))
    }


def _detected_meta(folder: Path, report: ParseReport) -> dict[str, Any] | None:
    """No meta.yaml: the platform the outputs tell (show version says which software)."""
    where = str(folder / META_FILE)
    outputs: list[tuple[str, str]] = []
    for file in _output_files(folder).values():
        try:
            with file.open(encoding="utf-8", errors="replace") as handle:
                text = handle.read(_DETECT_BYTES)
        except OSError:
            continue
        outputs.append((file.name, text))
        outputs.extend((c.command, c.output) for c in split_session(text))
    platform, seen = detect_platform(outputs)
    if platform is None:
        why = f"the outputs point to {', '.join(sorted(seen))}" if seen else "no output tells"
        report.add(
            ParseIssue(where, f"missing, and {why}: write one that names the platform", folder.name)
        )
        return None
    report.add(
        ParseIssue(
            where,
            f"missing: platform {platform} taken from what the outputs print",
            folder.name,
            severity="warning",
        )
    )
    return {"platform": platform}


def _facts(dev: DeviceFacts) -> dict[str, list[Any]]:
    return {
        "interfaces": dev.interfaces,
        "ip_addresses": dev.ip_addresses,
        "vlans": dev.vlans,
        "neighbors": dev.neighbors,
        "arp": dev.arp,
        "mac_table": dev.mac_table,
        "bgp_peers": dev.bgp_peers,
        "firewall_zones": dev.firewall_zones,
        "firewall_rulesets": dev.firewall_rulesets,
        "firewall_rules": dev.firewall_rules,
        "firewall_objects": dev.firewall_objects,
        "routes": dev.routes,
    }


def snapshot_from_facts(
    parsed: list[DeviceFacts],
    *,
    snapshot_id: str,
    source: str,
    collected_at: datetime,
    links: Sequence[Link] = (),
    fabric: Sequence[FabricFacts] = (),
    gpus: Sequence[GpuHostFacts] = (),
    nccl: Sequence[NcclJobFacts] = (),
) -> Snapshot:
    """One snapshot of every device's parsed facts (and hosts' InfiniBand facts); a device
    whose scope is empty is left out."""
    kept = [dev for dev in parsed if dev.scope is not None]
    lists: dict[str, list[Any]] = {k: [] for k in _facts(DeviceFacts(device="x"))}
    for dev in kept:
        for key, items in _facts(dev).items():
            lists[key].extend(items)
    scope: dict[str, tuple[FactKind, ...]] = {
        dev.scope.device: dev.scope.facts for dev in kept if dev.scope is not None
    }
    for host in gpus:
        kinds = tuple(k for k in FactKind if k in host.kinds)
        scope[host.device] = (*scope.get(host.device, ()), *kinds)
        lists.setdefault("gpus", []).extend(host.gpus)
        lists.setdefault("gpu_health", []).extend(host.health)
        lists.setdefault("gpu_affinity", []).extend(host.affinity)
    for ib in fabric:
        kinds = tuple(k for k in FactKind if k in ib.kinds)
        scope[ib.device] = (*scope.get(ib.device, ()), *kinds)
        for key, items in (
            ("ib_nodes", ib.nodes),
            ("ib_ports", ib.ports),
            ("ib_links", ib.links),
            ("ib_counters", ib.counters),
            ("ib_adapters", ib.adapters),
        ):
            lists.setdefault(key, []).extend(items)
    for job in nccl:  # owned by the job's own entry, nccl-job:<id>
        scope[job.device] = (*scope.get(job.device, ()), *(k for k in FactKind if k in job.kinds))
        for key, items in (
            ("nccl_jobs", job.jobs),
            ("nccl_ranks", job.ranks),
            ("nccl_connections", job.connections),
            ("nccl_results", job.results),
        ):
            lists.setdefault(key, []).extend(items)
    return Snapshot(
        snapshot_id=snapshot_id,
        source=source,
        collected_at=collected_at,
        scope=tuple(ScopeEntry(device=d, facts=kinds) for d, kinds in scope.items() if kinds),
        devices=tuple(dev.record for dev in kept if dev.record is not None),
        links=tuple(links),
        configs=tuple(dev.config for dev in kept if dev.config is not None),
        **{key: tuple(items) for key, items in lists.items()},
    )


def parse_directory(
    path: str | Path,
    *,
    collected_at: datetime | None = None,
    snapshot_id: str | None = None,
    source: str = "cli",
) -> tuple[Snapshot, ParseReport]:
    """Parse every ``<hostname>/`` folder of ``path`` into one snapshot.

    The scope lists, per device, exactly the fact kinds whose files were present and
    parsed. Problems are collected in the report (file, line when known, template); a
    device or file that fails is left out and the rest goes on.
    """
    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a directory of <hostname>/<command>.txt folders")
    when = collected_at or datetime.now(UTC)
    report = ParseReport()
    parsed: list[DeviceFacts] = []
    fabric: list[FabricFacts] = []
    gpus: list[GpuHostFacts] = []
    nccl: list[NcclJobFacts] = []
    if is_job_folder(root):  # the folder of one NCCL job (job.yaml)
        if (job := read_job(root, report)) is not None:
            nccl.append(job)
        return snapshot_from_facts(
            [],
            snapshot_id=snapshot_id or _default_id(root, when),
            source=source,
            collected_at=when,
            nccl=nccl,
        ), report
    layout = is_source_layout(root)
    if layout:  # configs/ hosts/ iptables/: several devices per folder
        parsed += read_source_layout(root, report)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if layout and folder.name in LAYOUT_FOLDERS:
            continue
        if is_job_folder(folder):  # an NCCL job's logs (job.yaml), not a device's outputs
            if (job := read_job(folder, report)) is not None:
                nccl.append(job)
            continue
        everything = _output_files(folder)
        ib_files = {n: f for n, f in everything.items() if fabric_tool(n)}
        gpu_files = {n: f for n, f in everything.items() if gpu_tool(n) and n not in ib_files}
        host_files = len(ib_files) + len(gpu_files)
        if host_files and host_files == len(everything) and not (folder / META_FILE).exists():
            meta: dict[str, Any] | None = {"platform": "linux"}  # InfiniBand and GPU outputs
        else:
            meta = _read_meta(folder, report)
        if meta is None:
            continue
        files = {n: f for n, f in everything.items() if n not in ib_files and n not in gpu_files}
        hostname = str(meta.get("hostname") or folder.name)
        try:
            normalise_hostname(hostname)
        except ValueError as exc:
            where = str(folder / META_FILE) if meta.get("hostname") else str(folder)
            report.add(ParseIssue(where, f"{exc}; the device is left out", folder.name))
            continue
        if (ib_files or gpu_files) and not files:  # only InfiniBand and GPU outputs:
            host = normalise_hostname(hostname)  # no device record is made
            if ib_files and (ib := read_fabric(host, ib_files, report)) is not None:
                fabric.append(ib)
            if gpu_files and (gpu := read_gpus(host, gpu_files, report)) is not None:
                gpus.append(gpu)
            continue
        own, hosted = _by_platform(meta["platform"], files)
        dev, dev_report = parse_device(hostname, meta["platform"], own, meta)
        report.extend(dev_report)
        if hosted:  # a Linux packet filter (iptables-save) kept beside a router's outputs
            extra, extra_report = parse_device(hostname, "linux", hosted, meta)
            report.extend(extra_report)
            merge_facts(dev, extra)
        if dev.scope is not None:
            parsed.append(dev)
        if ib_files and (ib := read_fabric(dev.device, ib_files, report)) is not None:
            fabric.append(ib)
        if gpu_files and (gpu := read_gpus(dev.device, gpu_files, report)) is not None:
            gpus.append(gpu)
        log.info(
            "parsers.device",
            device=dev.device,
            kinds=sorted(dev.kinds),
            issues=len(dev_report.issues),
        )
    add_protocol_routes(parsed, report)
    links = read_layer1(root, parsed, report)
    snapshot = snapshot_from_facts(
        parsed,
        snapshot_id=snapshot_id or _default_id(root, when),
        source=source,
        collected_at=when,
        links=links,
        fabric=fabric,
        gpus=gpus,
        nccl=nccl,
    )
    return snapshot, report


def _default_id(root: Path, when: datetime) -> str:
    name = _ID_CHARS.sub("-", root.resolve().name).strip("-.") or "cli"
    return f"{name}-{when.strftime('%Y%m%dT%H%M%SZ')}"[:128]
