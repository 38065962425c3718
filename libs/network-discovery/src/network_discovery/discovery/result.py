"""The outcome of collecting from each device, and of a whole run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from network_discovery.discovery.inventory import Target
from network_discovery.parsers import DeviceFacts, ParseIssue
from network_discovery.parsers._fabric_files import FabricFacts
from network_discovery.parsers._gpu_files import GpuHostFacts

__all__ = ["DeviceResult", "DeviceStatus", "RunSummary", "SkippedAddress"]


class DeviceStatus(StrEnum):
    OK = "ok"
    AUTH_FAILED = "auth_failed"
    TIMED_OUT = "timed_out"
    UNREACHABLE = "unreachable"
    UNSUPPORTED_PLATFORM = "unsupported_platform"
    #: Collected, but some outputs were not understood (their fact kinds are left out).
    PARSE_ERRORS = "parse_errors"
    #: A credential reference that cannot be read, or a protocol error.
    ERROR = "error"


#: Statuses whose facts go into the snapshot.
COLLECTED = frozenset({DeviceStatus.OK, DeviceStatus.PARSE_ERRORS})
#: Statuses worth another attempt.
RETRYABLE = frozenset({DeviceStatus.TIMED_OUT, DeviceStatus.UNREACHABLE})


@dataclass
class DeviceResult:
    """One device: its status, a one-line detail, what it answered and where time went."""

    target: Target
    status: DeviceStatus
    detail: str = ""
    hostname: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    #: Commands answered as JSON (``| json``): command -> the JSON text.
    json_outputs: dict[str, str] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)
    facts: DeviceFacts | None = None
    #: A fabric host's InfiniBand and GPU facts (``discovery.fabric_hosts``).
    fabric: FabricFacts | None = None
    gpus: GpuHostFacts | None = None
    issues: list[ParseIssue] = field(default_factory=list)
    attempts: int = 1
    connect_s: float = 0.0
    commands_s: float = 0.0
    parse_s: float = 0.0

    @property
    def collected(self) -> bool:
        if self.status not in COLLECTED:
            return False
        if self.facts is not None and self.facts.kinds:
            return True
        return any(part is not None and part.kinds for part in (self.fabric, self.gpus))

    def line(self) -> str:
        name = self.hostname or self.target.label
        where = self.target.address + (f":{self.target.port}" if self.target.port else "")
        text = f"{name:<20} {where:<22} {self.status.value:<20}"
        return f"{text} {self.detail}".rstrip()


@dataclass(frozen=True)
class SkippedAddress:
    """A neighbour's management address the crawler did not dial, and why."""

    address: str
    neighbour: str
    seen_from: str
    reason: str


@dataclass
class RunSummary:
    results: list[DeviceResult] = field(default_factory=list)
    skipped: list[SkippedAddress] = field(default_factory=list)
    limit_note: str | None = None
    elapsed_s: float = 0.0
    #: The most devices collected at once (bounded by the run's concurrency).
    peak_in_flight: int = 0

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.status.value for r in self.results))

    @property
    def collected(self) -> list[DeviceResult]:
        return [r for r in self.results if r.collected]

    def dialled(self) -> set[str]:
        return {r.target.address for r in self.results if r.attempts > 0}

    def lines(self) -> list[str]:
        out = [r.line() for r in sorted(self.results, key=lambda r: r.target.label)]
        out += [
            f"not dialled: {s.address} ({s.neighbour}, seen from {s.seen_from}): {s.reason}"
            for s in self.skipped
        ]
        if self.limit_note:
            out.append(self.limit_note)
        return out
