"""InfiniBand diagnostics saved in a host's folder of CLI output: which files they are, and
the snapshot facts they give.

A file is an InfiniBand output when the first word of its name (before a space, ``_``,
``-`` or ``.``) is the tool's name: ``ibnetdiscover.txt``, ``ibnetdiscover_-p.txt``,
``iblinkinfo --line.txt``, ``perfquery_12_1.txt``, ``ibqueryerrors.txt``, ``ibstat.txt``,
``ibstatus.txt``, ``ibroute_12.txt`` (a switch's forwarding table; ``dump_lfts.txt`` holds
every switch's). The folder's host is the collecting host: it owns what the fabric-wide
tools printed (fact kinds ``ib_nodes``, ``ib_ports``, ``ib_links``, ``ib_counters``) and its
own adapters (``ib_adapters``). Views of one node, port or cable from several files are
merged: a value one output leaves unknown is taken from another, and where two outputs both
say, the later tool in :data:`FABRIC_TOOLS` order wins (``iblinkinfo`` over
``ibnetdiscover`` for a port's state, width and speed). A file with lines it could not read
is reported and its facts are left out, so the graph keeps what it knew.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network_discovery.model import (
    FactKind,
    IBAdapterFact,
    IBCountersFact,
    IBLinkFact,
    IBNodeFact,
    IBPortFact,
)
from network_discovery.parsers._select import CommandOutput
from network_discovery.parsers.infiniband import (
    MAX_INPUT_BYTES,
    FabricInputError,
    FabricResult,
    parse_iblinkinfo,
    parse_ibnetdiscover,
    parse_ibqueryerrors,
    parse_ibroute,
    parse_ibstat,
    parse_ibstatus,
    parse_perfquery,
)
from network_discovery.parsers.report import ParseIssue, ParseReport

__all__ = ["FABRIC_TOOLS", "FabricFacts", "fabric_tool", "read_fabric"]

#: The tools read, in the order their views are merged (a later one's values win).
FABRIC_TOOLS = (
    "ibnetdiscover",
    "iblinkinfo",
    "ibstatus",
    "ibstat",
    "perfquery",
    "ibqueryerrors",
    "ibroute",
)
#: Problems reported per file before a summary line.
_MAX_ISSUES = 20
_FIRST_WORD = re.compile(r"^([a-z]+)(?:[\s_.\-]|$)")
#: ``dump_lfts.sh`` prints ibroute's blocks for every switch
_DUMP_LFTS = re.compile(r"^dump_lfts(?:\.sh)?(?:[\s_.\-]|$)")

_Parser = Callable[[str, str], FabricResult]
_PARSERS: dict[str, _Parser] = {
    "ibnetdiscover": lambda text, host: parse_ibnetdiscover(text),
    "iblinkinfo": lambda text, host: parse_iblinkinfo(text),
    "ibstat": lambda text, host: parse_ibstat(text, host=host),
    "ibstatus": lambda text, host: parse_ibstatus(text, host=host),
    "perfquery": lambda text, host: parse_perfquery(text),
    "ibqueryerrors": lambda text, host: parse_ibqueryerrors(text),
    "ibroute": lambda text, host: parse_ibroute(text),
}


def fabric_tool(file_name: str) -> str | None:
    """The InfiniBand tool a file's name says it holds, or None."""
    if _DUMP_LFTS.match(file_name.lower()):
        return "ibroute"
    match = _FIRST_WORD.match(file_name.lower())
    if match and match.group(1) in _PARSERS:
        return match.group(1)
    return None


@dataclass
class FabricFacts:
    """What one host's InfiniBand outputs gave, and the fact kinds they cover."""

    device: str
    kinds: set[FactKind] = field(default_factory=set)
    nodes: list[IBNodeFact] = field(default_factory=list)
    ports: list[IBPortFact] = field(default_factory=list)
    links: list[IBLinkFact] = field(default_factory=list)
    counters: list[IBCountersFact] = field(default_factory=list)
    adapters: list[IBAdapterFact] = field(default_factory=list)


def _merge(views: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One record from several views: a later view's known values (not None, not an empty
    list) replace an earlier one's."""
    out: dict[str, Any] = {}
    for view in views:
        for key, value in view.items():
            if value is None or value == () or value == []:
                out.setdefault(key, value)
            else:
                out[key] = value
    return out


def _collect(
    results: list[FabricResult], attr: str, key: Callable[[Any], Any]
) -> list[dict[str, Any]]:
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for result in results:
        for item in getattr(result, attr):
            grouped.setdefault(key(item), []).append(item.model_dump())
    return [_merge(views) for views in grouped.values()]


def read_fabric(
    device: str, files: Mapping[str, Path | CommandOutput], report: ParseReport
) -> FabricFacts | None:
    """The facts of a host's InfiniBand output files (``name -> path``, or the output
    collected live), owned by ``device``; None when none of them could be read."""
    facts = FabricFacts(device)
    by_tool: dict[str, list[FabricResult]] = {}
    for name, path in sorted(files.items()):
        tool = fabric_tool(name)
        if tool is None:
            continue
        result = _read_one(path, tool, device, report)
        if result is not None:
            by_tool.setdefault(tool, []).append(result)
    if not by_tool:
        return None
    results = [r for tool in FABRIC_TOOLS for r in by_tool.get(tool, [])]
    topology = [*by_tool.get("ibnetdiscover", []), *by_tool.get("iblinkinfo", [])]
    if any(r.nodes for r in topology):
        facts.kinds.add(FactKind.IB_NODES)
    elif "ibroute" in by_tool:  # tables of switches no topology output of the host names
        report.add(
            ParseIssue(
                device,
                "ibroute: forwarding tables are read with the host's ibnetdiscover or "
                "iblinkinfo output; left out",
                device,
                severity="warning",
            )
        )
        results = [r for r in results if r not in by_tool["ibroute"]]
    if topology:
        facts.kinds |= {FactKind.IB_PORTS, FactKind.IB_LINKS}
    if "perfquery" in by_tool or "ibqueryerrors" in by_tool:
        facts.kinds.add(FactKind.IB_COUNTERS)
    if "ibstat" in by_tool or "ibstatus" in by_tool:
        facts.kinds.add(FactKind.IB_ADAPTERS)
    facts.nodes = [
        IBNodeFact(**data, device=device) for data in _collect(results, "nodes", lambda n: n.guid)
    ]
    facts.ports = [
        IBPortFact(**data, device=device) for data in _collect(topology, "ports", lambda p: p.id)
    ]
    facts.links = [
        IBLinkFact(**data, device=device) for data in _collect(topology, "links", lambda k: k.id)
    ]
    facts.counters = [
        IBCountersFact(**data, device=device)
        for data in _collect(results, "counters", lambda c: c.id)
    ]
    adapters = _collect(results, "adapters", lambda a: a.name)
    facts.adapters = [IBAdapterFact(**{**data, "host": device}, device=device) for data in adapters]
    return facts


def _read_one(
    path: Path | CommandOutput, tool: str, device: str, report: ParseReport
) -> FabricResult | None:
    where = str(path)
    try:
        size = len(path.text) if isinstance(path, CommandOutput) else path.stat().st_size
        if size > MAX_INPUT_BYTES:
            report.add(ParseIssue(where, f"larger than {MAX_INPUT_BYTES} bytes: not read", device))
            return None
        if isinstance(path, CommandOutput):
            text = path.text
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        result = _PARSERS[tool](text, device)
    except (OSError, FabricInputError) as exc:
        report.add(ParseIssue(where, f"{tool}: {exc}", device))
        return None
    for line, why in result.problems[:_MAX_ISSUES]:
        report.add(ParseIssue(where, f"{tool}: {why}", device, line))
    if len(result.problems) > _MAX_ISSUES:
        more = len(result.problems) - _MAX_ISSUES
        report.add(ParseIssue(where, f"{tool}: and {more} more lines not read", device))
    for line, why in result.warnings[:_MAX_ISSUES]:
        report.add(ParseIssue(where, f"{tool}: {why}", device, line, severity="warning"))
    if result.problems:
        report.add(
            ParseIssue(
                where, f"{tool}: left out (lines not read); the graph keeps what it knew", device
            )
        )
        return None
    report.read.append((where, tool, "text"))
    return result
