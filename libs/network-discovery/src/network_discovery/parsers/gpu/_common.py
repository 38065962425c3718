"""What the GPU parsers return, and the bounds every one of them keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from network_discovery.model.gpu import (
    DiagResult,
    Gpu,
    GpuNicAffinity,
    GpuPeerLink,
    GpuSample,
)
from network_discovery.parsers.report import ParseIssue

__all__ = ["MAX_INPUT_CHARS", "MAX_ISSUES", "GpuFacts", "add_sample", "check_size"]

#: The largest text a parser reads: a dcgm-exporter scrape of 64 GPUs is about 2 MB.
MAX_INPUT_CHARS = 32 * 1024 * 1024
#: Issues kept per input; past that one more says how many were left out.
MAX_ISSUES = 500


@dataclass
class GpuFacts:
    """Facts read from one input, and every line or element that was not understood."""

    source: str
    gpus: list[Gpu] = field(default_factory=list)
    samples: list[GpuSample] = field(default_factory=list)
    affinities: list[GpuNicAffinity] = field(default_factory=list)
    peer_links: list[GpuPeerLink] = field(default_factory=list)
    diag: list[DiagResult] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)
    #: Metric families read but not used for health (clocks, profiling ratios...).
    unused_metrics: set[str] = field(default_factory=set)
    _dropped: int = 0

    def issue(self, message: str, *, line: int | None = None, severity: str = "error") -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(
                ParseIssue(
                    file=self.source,
                    message=message,
                    line=line,
                    severity="warning" if severity == "warning" else "error",
                )
            )
            return
        self._dropped += 1

    @property
    def dropped_issues(self) -> int:
        """Issues past :data:`MAX_ISSUES`, counted but not kept."""
        return self._dropped

    @property
    def errors(self) -> list[ParseIssue]:
        return [i for i in self.issues if i.severity == "error"]


def check_size(text: str, source: str) -> None:
    """Refuse an input past :data:`MAX_INPUT_CHARS` before reading any of it."""
    if len(text) > MAX_INPUT_CHARS:
        raise ValueError(
            f"{source}: {len(text)} characters, more than the {MAX_INPUT_CHARS} this parser reads"
        )


def add_sample(facts: GpuFacts, identity: dict[str, Any], values: dict[str, Any]) -> None:
    """Add a :class:`GpuSample`; a reading outside its field's bounds (a 300 % utilisation)
    is reported and left out, and the rest of the sample is kept."""
    readings = {k: v for k, v in values.items() if v is not None}
    where = f"GPU {identity['index']} on {identity['host']}"
    for _ in range(len(readings) + 1):
        try:
            facts.samples.append(GpuSample(**identity, **readings))
            return
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            wrong = bad & set(readings)
            for error in exc.errors():
                loc = ".".join(str(p) for p in error["loc"])
                facts.issue(f"{where}: {loc}: {error['msg']}; the reading is left out")
            if not wrong:
                return
            for name in wrong:
                readings.pop(name)
