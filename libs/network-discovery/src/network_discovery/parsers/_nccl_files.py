"""A folder of one NCCL job's output, saved beside hosts' folders of CLI output: which
folders they are, and the snapshot facts they give.

A folder is an NCCL job's when it holds a ``job.yaml`` (:data:`JOB_FILE`): ``job_id``
(required; NCCL's logs carry none), and optionally ``name``, ``started_at`` and
``ended_at`` (ISO 8601 with a time zone: the job's window). Every other file of the folder
is read as ``NCCL_DEBUG=INFO`` output (the ranks' logs, one file each or merged; they are
read together, so that a connection printed by one process finds the HCA list that process
printed) and, when it holds nccl-tests tables, as nccl-tests output. The facts are owned by
the job's own scope entry, ``nccl-job:<job id>``: ingesting the job again replaces them.
A job whose logs could not all be read is left out whole, so the graph keeps what it knew.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from network_discovery.model import (
    FactKind,
    NcclConnectionFact,
    NcclJobFact,
    NcclRankFact,
    NcclResultFact,
    nccl_job_owner,
)
from network_discovery.model.nccl import NcclChannelEdge, NcclRing, NcclTransport
from network_discovery.parsers.gpu._common import MAX_INPUT_CHARS
from network_discovery.parsers.nccl import parse_nccl_log, parse_nccl_tests
from network_discovery.parsers.report import ParseIssue, ParseReport

__all__ = ["JOB_FILE", "JOB_KEYS", "NcclJobFacts", "is_job_folder", "read_job"]

JOB_FILE = "job.yaml"
JOB_KEYS = frozenset({"job_id", "name", "started_at", "ended_at"})
_MAX_FILES = 4096
_MAX_ISSUES = 20


def is_job_folder(folder: Path) -> bool:
    return (folder / JOB_FILE).is_file()


@dataclass
class NcclJobFacts:
    """What one job folder gave, owned by ``device`` (``nccl-job:<id>``)."""

    device: str
    kinds: set[FactKind] = field(default_factory=set)
    jobs: list[NcclJobFact] = field(default_factory=list)
    ranks: list[NcclRankFact] = field(default_factory=list)
    connections: list[NcclConnectionFact] = field(default_factory=list)
    results: list[NcclResultFact] = field(default_factory=list)


def _read_job_file(folder: Path, report: ParseReport) -> dict[str, Any] | None:
    where = str(folder / JOB_FILE)
    try:
        data = yaml.safe_load((folder / JOB_FILE).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        report.add(ParseIssue(where, f"not readable YAML: {' '.join(str(exc).split())}"))
        return None
    if not isinstance(data, dict):
        report.add(ParseIssue(where, "expected a mapping of keys to values"))
        return None
    unknown = sorted(str(k) for k in set(data) - JOB_KEYS)
    if unknown:
        report.add(ParseIssue(where, f"unknown keys {', '.join(unknown)}", severity="warning"))
    job_id = data.get("job_id")
    if not isinstance(job_id, str | int) or isinstance(job_id, bool):
        report.add(ParseIssue(where, "job_id is required (the job's id, as your scheduler has it)"))
        return None
    try:
        nccl_job_owner(str(job_id))
    except ValueError as exc:
        report.add(ParseIssue(where, str(exc)))
        return None
    for key in ("started_at", "ended_at"):
        value = data.get(key)
        if isinstance(value, datetime) and value.tzinfo is None:
            report.add(ParseIssue(where, f"{key} needs a time zone (…Z or +00:00)"))
            return None
    return {**data, "job_id": str(job_id)}


def _files(folder: Path) -> list[Path]:
    return sorted(
        f
        for f in folder.rglob("*")
        if f.is_file() and f.name != JOB_FILE and not f.name.startswith((".", "~"))
    )


def _ring_successors(rings: list[NcclRing]) -> dict[int, dict[int, int | None]]:
    """channel -> rank -> the next rank of its ring (None past a cut line's last rank)."""
    out: dict[int, dict[int, int | None]] = {}
    for ring in rings:
        order = list(ring.ranks)
        nxt: dict[int, int | None] = {}
        for i, rank in enumerate(order):
            if i + 1 < len(order):
                nxt[rank] = order[i + 1]
            else:
                nxt[rank] = order[0] if ring.complete else None
        out[ring.channel] = nxt
    return out


def _connections(
    job_id: str, edges: list[NcclChannelEdge], rings: list[NcclRing]
) -> list[NcclConnectionFact]:
    """One connection per (channel, src, dst): a network connection's send line gives the
    sender's HCA port, its receive line the receiver's."""
    successors = _ring_successors(rings)
    merged: dict[tuple[int, int, int], dict[str, Any]] = {}
    for edge in edges:
        key = (edge.channel, edge.src_rank, edge.dst_rank)
        row = merged.setdefault(
            key,
            {
                "job_id": job_id,
                "channel": edge.channel,
                "src_rank": edge.src_rank,
                "dst_rank": edge.dst_rank,
                "transport": edge.transport,
                "via": edge.via,
                "gdr": edge.gdr,
            },
        )
        hca = edge.hca_port.name if edge.hca_port is not None else None
        if edge.direction == "receive":
            row["dst_host"] = row.get("dst_host") or edge.host
            row["dst_hca"] = row.get("dst_hca") or hca
        else:  # a send line, or a local transport printed once by the sender
            row["src_host"] = row.get("src_host") or edge.host
            row["src_hca"] = row.get("src_hca") or hca
            row["via"] = edge.via
        if edge.transport is not NcclTransport.NET and edge.direction is None:
            row["dst_host"] = row.get("dst_host") or edge.host  # P2P and SHM stay in the host
        if edge.gdr is not None:
            row["gdr"] = edge.gdr
    out = []
    for (channel, src, dst), row in sorted(merged.items()):
        ring = successors.get(channel)
        if ring is not None and src in ring and ring[src] is not None:
            row["in_ring"] = ring[src] == dst
        out.append(NcclConnectionFact(**row))
    return out


def read_job(folder: Path, report: ParseReport) -> NcclJobFacts | None:
    """The facts of one job folder; None (with the reasons in ``report``) when it cannot be
    read whole."""
    meta = _read_job_file(folder, report)
    if meta is None:
        return None
    job_id = meta["job_id"]
    owner = nccl_job_owner(job_id)
    files = _files(folder)
    if len(files) > _MAX_FILES:
        report.add(ParseIssue(str(folder), f"more than {_MAX_FILES} files: job left out", owner))
        return None
    texts: list[tuple[Path, str]] = []
    total = 0
    for path in files:
        try:
            size = path.stat().st_size
            total += size
            if total > MAX_INPUT_CHARS:
                report.add(
                    ParseIssue(
                        str(folder),
                        f"the job's logs are over {MAX_INPUT_CHARS} characters: left out",
                        owner,
                    )
                )
                return None
            texts.append((path, path.read_text(encoding="utf-8", errors="replace")))
        except OSError as exc:
            report.add(ParseIssue(str(path), f"not readable: {exc}", owner))
            return None
    log = parse_nccl_log("\n".join(text for _, text in texts), job_id=job_id, source=str(folder))
    for issue in log.issues[:_MAX_ISSUES]:
        report.add(
            ParseIssue(issue.file, issue.message, owner, issue.line, severity=issue.severity)
        )
    if any(i.severity == "error" for i in log.issues):
        report.add(ParseIssue(str(folder), "NCCL job left out (not all read)", owner))
        return None
    out = NcclJobFacts(owner)
    try:
        for path, text in texts:
            if "_perf" not in text and "Avg bus bandwidth" not in text:
                continue
            tests = parse_nccl_tests(text, job_id=job_id, source=str(path))
            for issue in tests.issues[:_MAX_ISSUES]:
                report.add(ParseIssue(issue.file, issue.message, owner, issue.line))
            if tests.issues:
                report.add(ParseIssue(str(path), "nccl-tests output left out", owner))
                return None
            if tests.results:
                report.read.append((str(path), "nccl-tests", "text"))
            base = len(out.results)
            out.results += [
                NcclResultFact(**r.model_dump(), index=base + i)
                for i, r in enumerate(tests.results)
            ]
        seen = log.job is not None and (log.job.hosts or log.job.nccl_version)
        if log.job is not None and (log.ranks or log.edges or seen):
            job = log.job
            out.jobs.append(
                NcclJobFact(
                    **job.model_dump(exclude={"id"}),
                    job_id=job_id,
                    ring_channels=len({r.channel for r in log.rings}) or None,
                    name=meta.get("name"),
                    started_at=meta.get("started_at"),
                    ended_at=meta.get("ended_at"),
                )
            )
            out.ranks = [
                NcclRankFact(
                    **r.model_dump(exclude={"hca_ports", "comm_id", "local_ranks"}),
                    comm=r.comm_id or f"n{r.nranks}",
                    hca_ports=tuple(p.name for p in r.hca_ports),
                )
                for r in log.ranks
            ]
            out.connections = _connections(job_id, log.edges, log.rings)
            report.read.append((str(folder), "NCCL INFO log", "text"))
    except ValidationError as exc:
        report.add(ParseIssue(str(folder), f"NCCL job left out: {exc.errors()[0]['msg']}", owner))
        return None
    if not out.jobs and not out.results:
        report.add(ParseIssue(str(folder), "no NCCL log lines or nccl-tests rows found", owner))
        return None
    # every kind, always: ingesting the job again replaces all it had (results included)
    out.kinds = {
        FactKind.NCCL_JOBS,
        FactKind.NCCL_RANKS,
        FactKind.NCCL_CONNECTIONS,
        FactKind.NCCL_RESULTS,
    }
    if not out.jobs:  # nccl-tests output alone still names the job
        out.jobs.append(
            NcclJobFact(
                job_id=job_id,
                device=owner,
                name=meta.get("name"),
                started_at=meta.get("started_at"),
                ended_at=meta.get("ended_at"),
            )
        )
    return out
