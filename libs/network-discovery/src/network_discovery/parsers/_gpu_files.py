"""GPU outputs saved in a host's folder of CLI output: which files they are, and the snapshot
facts they give (the host's GPUs, the verdict on each, and how each reaches the host's RDMA
adapters).

A file is read by its name, without the extension, with ``_`` and spaces alike:

- ``dcgm-exporter*`` or any ``*.prom`` file: a dcgm-exporter scrape (Prometheus text);
- ``dcgmi diag*``: ``dcgmi diag -r N -j`` JSON; ``dcgmi discovery*``: ``dcgmi discovery -l``;
- ``nvidia-smi topo*``: ``nvidia-smi topo -m``; any other ``nvidia-smi*`` file, or a
  ``*.xml`` file whose name starts with ``nvidia``: ``nvidia-smi -q -x``.

Every GPU belongs to the folder's host, whatever a scrape's ``Hostname`` label says (in
Kubernetes it is often the exporter pod's name). The verdict on a GPU is judged from its
sample (dcgm-exporter's over nvidia-smi's when both are there, the exporter reading more) and
the host's ``dcgmi diag`` results, with the documented thresholds of
:mod:`network_discovery.parsers.gpu.health`; a GPU with no sample gets no verdict. A file
with anything it could not read is reported and left out with its kinds, so the graph keeps
what it knew.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from network_discovery.model import FactKind, GpuAffinityFact, GpuFact, GpuHealthFact
from network_discovery.model.gpu import DiagResult, GpuSample
from network_discovery.parsers._select import CommandOutput
from network_discovery.parsers.gpu import (
    MAX_INPUT_CHARS,
    GpuFacts,
    evaluate_health,
    parse_dcgm_exporter,
    parse_dcgmi_diag,
    parse_dcgmi_discovery,
    parse_nvidia_smi_xml,
    parse_topo_matrix,
)
from network_discovery.parsers.report import ParseIssue, ParseReport

__all__ = ["GpuHostFacts", "gpu_tool", "read_gpus"]

_MAX_ISSUES = 20
_Reader = Callable[[str, str], GpuFacts]
_READERS: dict[str, _Reader] = {
    "dcgm-exporter": lambda text, host: parse_dcgm_exporter(text, host=host),
    "dcgmi diag": lambda text, host: parse_dcgmi_diag(text, host=host),
    "dcgmi discovery": lambda text, host: parse_dcgmi_discovery(text, host=host),
    "nvidia-smi topo": lambda text, host: parse_topo_matrix(text, host=host),
    "nvidia-smi -q -x": lambda text, host: parse_nvidia_smi_xml(text, host=host),
}
_SEP = re.compile(r"[\s_]+")


def gpu_tool(file_name: str) -> str | None:
    """The GPU tool a file's name says it holds, or None."""
    lower = file_name.lower()
    stem, _, ext = lower.rpartition(".") if "." in lower else (lower, "", "")
    words = _SEP.sub(" ", stem).strip()
    if words.startswith("dcgm-exporter") or words.startswith("dcgm exporter") or ext == "prom":
        return "dcgm-exporter"
    if words.startswith("dcgmi diag"):
        return "dcgmi diag"
    if words.startswith("dcgmi discovery"):
        return "dcgmi discovery"
    if words.startswith("nvidia-smi topo"):
        return "nvidia-smi topo"
    if words.startswith("nvidia-smi") or (words.startswith("nvidia") and ext == "xml"):
        return "nvidia-smi -q -x"
    return None


@dataclass
class GpuHostFacts:
    """What one host's GPU outputs gave, and the fact kinds they cover."""

    device: str
    kinds: set[FactKind] = field(default_factory=set)
    gpus: list[GpuFact] = field(default_factory=list)
    health: list[GpuHealthFact] = field(default_factory=list)
    affinity: list[GpuAffinityFact] = field(default_factory=list)


def read_gpus(
    device: str, files: Mapping[str, Path | CommandOutput], report: ParseReport
) -> GpuHostFacts | None:
    """The GPU facts of a host's output files (``name -> path``, or the output collected
    live), owned by ``device``; None when none of them could be read."""
    read: dict[str, list[GpuFacts]] = {}
    for name, path in sorted(files.items()):
        tool = gpu_tool(name)
        if tool is not None and (facts := _read_one(path, tool, device, report)) is not None:
            read.setdefault(tool, []).append(facts)
    if not read:
        return None
    out = GpuHostFacts(device)
    gpus: dict[int, dict[str, object]] = {}
    # identity: discovery and nvidia-smi first, the exporter's labels over them
    for tool in ("dcgmi discovery", "nvidia-smi -q -x", "dcgm-exporter"):
        for facts in read.get(tool, []):
            for gpu in facts.gpus:
                known = gpus.setdefault(gpu.index, {})
                known.update({k: v for k, v in gpu.model_dump().items() if v is not None})
    if gpus:
        out.kinds.add(FactKind.GPUS)
        out.gpus = [GpuFact(**{**g, "host": device}) for _, g in sorted(gpus.items())]
    samples: dict[int, GpuSample] = {}
    for tool in ("nvidia-smi -q -x", "dcgm-exporter"):  # the exporter's sample wins
        for facts in read.get(tool, []):
            samples.update({s.index: s for s in facts.samples})
    diag: list[DiagResult] = [r for facts in read.get("dcgmi diag", []) for r in facts.diag]
    if samples or diag:
        out.kinds.add(FactKind.GPU_HEALTH)
        out.health = [
            GpuHealthFact(**evaluate_health(sample, diag=diag).model_dump())
            for _, sample in sorted(samples.items())
        ]
    if "nvidia-smi topo" in read:
        out.kinds.add(FactKind.GPU_AFFINITY)
        seen: dict[tuple[int, str], GpuAffinityFact] = {}
        for facts in read["nvidia-smi topo"]:
            for a in facts.affinities:
                seen[(a.gpu_index, a.hca)] = GpuAffinityFact(**a.model_dump())
        out.affinity = [seen[k] for k in sorted(seen)]
    return out


def _read_one(
    path: Path | CommandOutput, tool: str, device: str, report: ParseReport
) -> GpuFacts | None:
    where = str(path)
    try:
        size = len(path.text) if isinstance(path, CommandOutput) else path.stat().st_size
        if size > MAX_INPUT_CHARS * 4:
            report.add(ParseIssue(where, f"{tool}: too large to read", device))
            return None
        if isinstance(path, CommandOutput):
            text = path.text
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        facts = _READERS[tool](text, device)
    except (OSError, ValueError) as exc:
        report.add(ParseIssue(where, f"{tool}: {exc}", device))
        return None
    errors = facts.errors
    for issue in facts.issues[:_MAX_ISSUES]:
        report.add(
            ParseIssue(
                where, f"{tool}: {issue.message}", device, issue.line, severity=issue.severity
            )
        )
    if len(facts.issues) > _MAX_ISSUES or facts.dropped_issues:
        more = len(facts.issues) - _MAX_ISSUES + facts.dropped_issues
        report.add(
            ParseIssue(
                where,
                f"{tool}: and {more} more issues",
                device,
                severity="warning" if not errors else "error",
            )
        )
    if errors:
        report.add(
            ParseIssue(
                where, f"{tool}: left out (not all read); the graph keeps what it knew", device
            )
        )
        return None
    report.read.append((where, tool, "text"))
    return facts
