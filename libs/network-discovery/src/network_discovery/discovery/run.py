"""Running a discovery: collect from every target with a global concurrency limit, parse,
crawl to neighbours within the allowed networks and the hop limit, and build one snapshot.

Collectors are coroutines (asyncssh sessions; pysnmp walks on the SNMP engine's own loop),
all on one event loop: a semaphore of ``concurrency`` slots bounds the devices in flight, so
hundreds of sessions wait on their devices at once without a thread each. A device's outputs
are parsed once its session is closed and its slot given back.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import structlog
import yaml

from network_discovery.discovery.credentials import Credentials
from network_discovery.discovery.inventory import Target
from network_discovery.discovery.plan import guess_platform
from network_discovery.discovery.result import (
    RETRYABLE,
    DeviceResult,
    DeviceStatus,
    RunSummary,
    SkippedAddress,
)
from network_discovery.model import Snapshot, normalise_hostname
from network_discovery.parsers import CommandOutput, parse_device, snapshot_from_facts
from network_discovery.parsers._fabric_files import FabricFacts
from network_discovery.parsers._gpu_files import GpuHostFacts

__all__ = [
    "Collector",
    "DeviceLimitError",
    "DiscoveryOptions",
    "Network",
    "build_snapshot",
    "collectors",
    "discover",
    "is_allowed",
    "parse_networks",
    "save_outputs",
]

log = structlog.get_logger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Collector = Callable[[Target], Awaitable[DeviceResult]]
Progress = Callable[[DeviceResult, int, int], None]


class DeviceLimitError(ValueError):
    """More devices to collect than the plan allows; nothing was dialled."""


@contextmanager
def collectors(targets: Sequence[Target], timeout: float) -> Iterator[Collector]:
    """The collector for a run: SSH, and SNMP (one shared engine) for the targets that say so."""
    from network_discovery.discovery.fabric_hosts import collect_fabric_host
    from network_discovery.discovery.snmp import SnmpCollector
    from network_discovery.discovery.ssh import collect_ssh

    async def ssh(target: Target) -> DeviceResult:
        if target.fabric is not None:  # a GPU/InfiniBand host: its tools, not a CLI
            return await collect_fabric_host(target, timeout=timeout)
        return await collect_ssh(target, timeout=timeout)

    if not any(t.transport == "snmp" for t in targets):
        yield ssh
        return
    with SnmpCollector(timeout=timeout, retries=0) as snmp:

        async def either(target: Target) -> DeviceResult:
            return await (snmp(target) if target.transport == "snmp" else ssh(target))

        yield either


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    nets = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not a network in CIDR form (10.0.0.0/16)") from None
    return tuple(nets)


@dataclass(frozen=True)
class DiscoveryOptions:
    concurrency: int = 10
    timeout: float = 30.0
    retries: int = 1
    retry_delay: float = 1.0
    #: Crawl this many hops from the targets (0: collect the targets only).
    max_hops: int = 0
    #: The only networks the crawler dials; a neighbour elsewhere is listed, never dialled.
    allow: tuple[Network, ...] = ()
    #: For devices crawled over SSH: the port, the platform when LLDP/CDP does not tell,
    #: credentials. A device crawled from an SNMP device is walked with that device's.
    port: int | None = None
    platform: str | None = None
    credentials: Credentials = field(default_factory=Credentials)
    #: The plan's device limit; None for no limit.
    device_limit: int | None = None
    plan: str = "unlimited"


def is_allowed(address: str, allow: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in allow)


def _parse(result: DeviceResult) -> DeviceResult:
    """Parse a collected device's outputs in place (status parse_errors on any error)."""
    if result.status is not DeviceStatus.OK or result.facts is not None:
        return result
    if result.target.fabric is not None:
        from network_discovery.discovery.fabric_hosts import parse_fabric_host

        return parse_fabric_host(result)
    started = time.perf_counter()
    target = result.target
    name = target.name or result.hostname or target.address
    files = {
        f"{command.replace(' ', '_')}.txt": CommandOutput(f"ssh://{name}/{command}", text)
        for command, text in result.outputs.items()
    }
    files |= {
        f"{command.replace(' ', '_')}.json": CommandOutput(f"ssh://{name}/{command} | json", text)
        for command, text in result.json_outputs.items()
    }
    meta = dict(target.meta)
    try:
        ipaddress.ip_address(target.address)
        meta.setdefault("management_ip", target.address)
    except ValueError:
        pass
    facts, report = parse_device(name, target.platform or "", files, meta)
    result.hostname = facts.device
    result.facts = facts
    result.issues = report.errors
    if report.errors:
        result.status = DeviceStatus.PARSE_ERRORS
        result.detail = f"{len(report.errors)} output(s) not understood; first: {report.errors[0]}"
    elif not facts.kinds:
        result.status = DeviceStatus.PARSE_ERRORS
        result.detail = "no output could be parsed"
    result.parse_s = time.perf_counter() - started
    return result


async def _attempts(
    collector: Collector, target: Target, options: DiscoveryOptions, slots: _Slots
) -> DeviceResult:
    """Collect (holding one of the run's slots while the device is in flight, retries with
    their pauses included), then parse."""
    async with slots:
        result = await collector(target)
        attempt = 1
        while result.status in RETRYABLE and attempt <= options.retries:
            await asyncio.sleep(options.retry_delay * attempt)
            attempt += 1
            result = await collector(target)
    result.attempts = attempt if result.attempts else 0
    return _parse(result)


class _Slots:
    """The run's concurrency limit, and the most devices it has had in flight at once."""

    def __init__(self, size: int) -> None:
        self._gate = asyncio.Semaphore(max(1, size))
        self.in_flight = 0
        self.peak = 0

    async def __aenter__(self) -> None:
        await self._gate.acquire()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._gate.release()


class _Crawl:
    """What has been dialled and collected, and the next hop's targets."""

    def __init__(self, options: DiscoveryOptions, summary: RunSummary) -> None:
        self.options = options
        self.summary = summary
        self.addresses: set[str] = set()
        self.names: set[str] = set()

    @property
    def crawling(self) -> bool:
        return self.options.max_hops > 0 and bool(self.options.allow)

    def room(self) -> int | None:
        limit = self.options.device_limit
        return None if limit is None else limit - len(self.addresses)

    def next_hop(self, results: Sequence[DeviceResult]) -> list[Target]:
        found: list[Target] = []
        for result in results:
            if not result.collected or result.facts is None:
                continue
            hop = result.target.hop + 1
            for n in result.facts.neighbors:
                address = n.remote_management_address
                name = normalise_hostname(n.remote_system_name) if n.remote_system_name else None
                if address is None or address in self.addresses or (name and name in self.names):
                    continue
                label = n.remote_system_name or n.remote_chassis_id or "?"
                reason = None
                if not is_allowed(address, self.options.allow):
                    reason = "outside the allowed networks"
                elif hop > self.options.max_hops:
                    reason = f"beyond {self.options.max_hops} hop(s)"
                elif (room := self.room()) is not None and room <= 0:
                    reason = f"the {self.options.plan} plan's limit of {self.options.device_limit}"
                if reason:
                    if not any(s.address == address for s in self.summary.skipped):
                        self.summary.skipped.append(
                            SkippedAddress(address, label, result.facts.device, reason)
                        )
                    continue
                platform = guess_platform(n.remote_description, n.remote_platform)
                self.addresses.add(address)
                if name:
                    self.names.add(name)
                crawled = self._crawled(result.target, address, platform)
                found.append(
                    replace(crawled, hop=hop, via=result.facts.device, seen_as=n.remote_system_name)
                )
        return found

    def _crawled(self, parent: Target, address: str, platform: str | None) -> Target:
        """A neighbour of ``parent``: walked over SNMP with the parent's port and profile when
        the parent was; else over SSH with the run's port, credentials and fallback platform."""
        if parent.transport == "snmp":
            return Target(
                address=address,
                platform=platform,
                port=parent.port,
                transport="snmp",
                credentials=parent.credentials,
            )
        return Target(
            address=address,
            platform=platform or self.options.platform,
            port=self.options.port,
            credentials=self.options.credentials,
        )


async def discover(
    targets: Sequence[Target],
    options: DiscoveryOptions,
    collector: Collector,
    *,
    progress: Progress | None = None,
) -> RunSummary:
    """Collect from ``targets`` (and, when crawling, from their neighbours)."""
    limit = options.device_limit
    if limit is not None and len(targets) > limit:
        raise DeviceLimitError(
            f"{len(targets)} devices to discover; the {options.plan} plan allows {limit}: "
            "remove devices from the inventory or upgrade the plan"
        )
    started = time.perf_counter()
    summary = RunSummary()
    crawl = _Crawl(options, summary)
    for target in targets:
        crawl.addresses.add(target.address)
        if target.name:
            crawl.names.add(normalise_hostname(target.name))
    slots = _Slots(options.concurrency)
    wave = list(targets)
    done = 0
    while wave:
        tasks = [
            asyncio.ensure_future(_attempts(collector, target, options, slots)) for target in wave
        ]
        results: list[DeviceResult] = []
        try:
            for next_result in asyncio.as_completed(tasks):
                result = await next_result
                done += 1
                results.append(result)
                summary.results.append(result)
                if result.hostname:
                    crawl.names.add(normalise_hostname(result.hostname))
                log.info(
                    "discovery.device",
                    device=result.hostname or result.target.label,
                    status=result.status.value,
                    hop=result.target.hop,
                )
                if progress:
                    progress(result, done, len(crawl.addresses))
        finally:
            for task in tasks:
                task.cancel()
        wave = crawl.next_hop(results) if crawl.crawling else []
    summary.peak_in_flight = slots.peak
    summary.elapsed_s = time.perf_counter() - started
    return summary


def build_snapshot(
    summary: RunSummary,
    *,
    snapshot_id: str | None = None,
    collected_at: datetime | None = None,
    source: str = "discovery",
) -> Snapshot | None:
    """One snapshot of every device collected in the run (None when nothing was)."""
    when = collected_at or datetime.now(UTC)
    seen: set[str] = set()
    facts = []
    fabric: list[FabricFacts] = []
    gpus: list[GpuHostFacts] = []
    hosts: set[str | None] = set()
    for result in summary.collected:
        if result.facts is None:  # a fabric host: its InfiniBand and GPU facts
            if result.hostname in hosts:
                continue  # the same host reached at a second address
            hosts.add(result.hostname)
            if result.fabric is not None:
                fabric.append(result.fabric)
            if result.gpus is not None:
                gpus.append(result.gpus)
            continue
        if result.facts.device in seen:
            continue  # the same device reached at a second address
        seen.add(result.facts.device)
        facts.append(result.facts)
    if not (facts or fabric or gpus):
        return None
    return snapshot_from_facts(
        facts,
        snapshot_id=snapshot_id or f"discovery-{when.strftime('%Y%m%dT%H%M%S%fZ')}",
        source=source,
        collected_at=when,
        fabric=fabric,
        gpus=gpus,
    )


def save_outputs(summary: RunSummary, directory: Path) -> int:
    """Write each collected device's outputs as ``DIR/<host>/<command>.txt`` with a
    ``meta.yaml``: the layout ``meshq ingest`` reads. Returns how many devices were written."""
    written = 0
    for result in summary.collected:
        if result.target.fabric is not None and result.hostname:
            from network_discovery.discovery.fabric_hosts import output_files

            folder = directory / result.hostname  # no meta.yaml: a host of fabric outputs
            folder.mkdir(parents=True, exist_ok=True)
            for file, command in output_files(result.outputs).items():
                (folder / file).write_text(result.outputs[command], "utf-8")
            written += 1
            continue
        if not (result.outputs or result.json_outputs) or result.facts is None:
            continue
        folder = directory / result.facts.device
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"platform": result.target.platform, **dict(result.target.meta)}
        if result.facts.record is not None and result.facts.record.management_ip:
            meta["management_ip"] = result.facts.record.management_ip
        (folder / "meta.yaml").write_text(yaml.safe_dump(meta, sort_keys=True), encoding="utf-8")
        for command, text in result.outputs.items():
            (folder / f"{command.replace(' ', '_')}.txt").write_text(text, encoding="utf-8")
        for command, text in result.json_outputs.items():
            (folder / f"{command.replace(' ', '_')}.json").write_text(text, encoding="utf-8")
        written += 1
    return written
