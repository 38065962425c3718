"""nccl-tests result tables (``all_reduce_perf`` and the other ``*_perf`` programs).

The columns changed over the years: ``size count type`` then, for reductions, ``redop``,
and for rooted collectives ``root`` (which older versions printed in place of ``redop``);
then out-of-place and in-place groups of ``time algbw busbw`` and an error column (``error``,
later ``#wrong``). The last header line seen says which; without one, the row's own shape
does. ``N/A`` stays unknown. A row of any other shape is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from network_discovery.model.nccl import NcclTestResult
from network_discovery.parsers.gpu._common import MAX_ISSUES, check_size
from network_discovery.parsers.report import ParseIssue

__all__ = ["NcclTestsFacts", "parse_nccl_tests"]

_PROGRAM = re.compile(r"\b([a-z_]+_perf)(?:_mpi)?\b")
_RANK = re.compile(
    r"^#\s+Rank\s+(?P<rank>\d+)(?:\s+Group\s+\d+)?\s+Pid\s+(?P<pid>\d+)\s+on\s+(?P<host>\S+)\s+"
    r"device\s+(?P<dev>\d+)\s+\[(?P<bus>0x[0-9a-fA-F]+)\]\s+(?P<name>.+?)\s*$"
)
_AVG = re.compile(r"^#\s*Avg bus bandwidth\s*:\s*([0-9.eE+-]+)")
_ROW = re.compile(r"^\s*\d+\s+\d+\s+\S+")
_MAX_ROWS = 100_000


@dataclass(frozen=True)
class TestRank:
    """A ``# Rank N … on HOST device D [0xBUS] NAME`` line: where a rank of the test ran."""

    rank: int
    host: str
    pid: int
    cuda_dev: int
    pci_bus: int
    gpu_name: str


@dataclass
class NcclTestsFacts:
    source: str
    results: list[NcclTestResult] = field(default_factory=list)
    ranks: list[TestRank] = field(default_factory=list)
    avg_busbw_gbps: list[float] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)

    def issue(self, message: str, *, line: int | None = None) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(ParseIssue(file=self.source, message=message, line=line))


def _number(text: str) -> float | None:
    if text.upper() == "N/A":
        return None
    return float(text)


def _leading(tokens: list[str]) -> list[str] | None:
    """The columns before the first ``time`` of a header line, or None if it is not one."""
    if tokens[:2] != ["size", "count"] or "time" not in tokens:
        return None
    return tokens[: tokens.index("time")]


def parse_nccl_tests(
    text: str, *, job_id: str, test: str | None = None, source: str = "nccl-tests"
) -> NcclTestsFacts:
    """Every result row of the tables in ``text``; ``test`` names the program when the text
    does not (a line such as ``./all_reduce_perf -b 8`` does)."""
    check_size(text, source)
    facts = NcclTestsFacts(source=source)
    columns: list[str] | None = None
    current = test
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            body = line.lstrip("#").split()
            header = _leading(body) if body else None
            if header is not None:
                columns = header
            elif found := _RANK.match(line):
                facts.ranks.append(
                    TestRank(
                        rank=int(found["rank"]),
                        host=found["host"].lower(),
                        pid=int(found["pid"]),
                        cuda_dev=int(found["dev"]),
                        pci_bus=int(found["bus"], 16),
                        gpu_name=found["name"],
                    )
                )
            elif found := _AVG.match(line):
                facts.avg_busbw_gbps.append(float(found[1]))
            continue
        if (program := _PROGRAM.search(line)) and not _ROW.match(line):
            current = program[1]
            continue
        if not _ROW.match(line):
            continue
        if len(facts.results) >= _MAX_ROWS:
            facts.issue(f"more than {_MAX_ROWS} rows; the rest is not read", line=number)
            break
        _row(facts, job_id, current, columns, line.split(), number)
    return facts


def _row(
    facts: NcclTestsFacts,
    job_id: str,
    test: str | None,
    columns: list[str] | None,
    tokens: list[str],
    line: int,
) -> None:
    leading = columns
    if leading is None or len(leading) + 8 != len(tokens):
        extra = len(tokens) - 11
        if extra == 0:
            leading = ["size", "count", "type"]
        elif extra == 1:
            leading = ["size", "count", "type", "root" if _is_int(tokens[3]) else "redop"]
        elif extra == 2:
            leading = ["size", "count", "type", "redop", "root"]
        else:
            facts.issue(f"a row of {len(tokens)} columns fits no nccl-tests layout", line=line)
            return
    head = dict(zip(leading, tokens, strict=False))
    rest = tokens[len(leading) :]
    try:
        for placement, group in (("out-of-place", rest[0:4]), ("in-place", rest[4:8])):
            facts.results.append(
                NcclTestResult(
                    job_id=job_id,
                    test=test,
                    size_bytes=int(head["size"]),
                    count=int(head["count"]),
                    dtype=head["type"],
                    redop=head.get("redop"),
                    root=int(head["root"]) if "root" in head else None,
                    placement=placement,
                    time_us=_number(group[0]),
                    algbw_gbps=_number(group[1]),
                    busbw_gbps=_number(group[2]),
                    errors=_number(group[3]),
                )
            )
    except (ValueError, ValidationError, KeyError) as exc:
        facts.issue(f"row not read: {exc}", line=line)


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()
