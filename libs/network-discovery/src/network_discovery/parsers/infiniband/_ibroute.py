"""Unicast forwarding tables: ``ibroute <switch LID>`` (and ``ibroute -D <path>``), one or
several outputs concatenated (``dump_lfts.sh`` prints the same blocks for every switch)::

    Unicast lids [0x0-0x8] of switch Lid 3 guid 0x0c42a10300000200 (MF0;leaf01:MQM8700/U1):
      Lid  Out   Destination
           Port     Info
    0x0001 003 : (Switch portguid 0x0c42a10300000000: 'MF0;spine01:MQM8700/U1')
    0x0005 001 : (Channel Adapter portguid 0xb8cef60300000001: 'gpu-0101 mlx5_0')
    8 valid lids dumped

Each block gives the switch (:class:`IBNode`: GUID, LID unless the block was read by a
directed route, description) with its table as ``route_lids``/``route_ports``: the port a
packet to each destination LID leaves by (0: the switch itself). The destination's name in
the last column is the subnet manager's view and is not kept. A block whose entries do not
ascend, name a LID twice, or end before the tool's ``lids dumped`` count (or disagree with
it), is reported and left out whole: a part of a table would leave routes out unsaid.
"""

from __future__ import annotations

import re

from network_discovery.model.fabric import IBNode, IBNodeType, normalise_guid
from network_discovery.parsers.infiniband._common import (
    MAX_LINE_CHARS,
    FabricResult,
    build,
    split_lines,
)

__all__ = ["parse_ibroute"]

_HEADER = re.compile(
    r"^Unicast lids \[0x[0-9a-fA-F]+-0x[0-9a-fA-F]+\] of switch "
    r"(?:Lid (?P<lid>\d+)|DR path .*?) guid (?P<guid>0x[0-9a-fA-F]{1,16})"
    r"(?: \((?P<desc>.*)\))?:\s*$"
)
_ENTRY = re.compile(r"^(?P<lid>0x[0-9a-fA-F]{1,4}) (?P<port>\d{1,3}) : (?:\(.*\))?\s*$")
_COLUMNS = re.compile(r"^\s*(?:Lid\s+Out\s+Destination|Port\s+Info)\s*$")
_TRAILER = re.compile(r"^(?P<count>\d+) (?:valid )?lids dumped\s*$")
#: ``ibroute -M`` (multicast): not read
_MULTICAST = re.compile(r"^Multicast mlids")


class _Block:
    def __init__(self, lineno: int, line: str, guid: str, lid: int | None, desc: str) -> None:
        self.lineno, self.line = lineno, line
        self.guid, self.lid, self.desc = guid, lid, desc
        self.lids: list[int] = []
        self.ports: list[int] = []
        self.bad = False


def parse_ibroute(text: str | bytes) -> FabricResult:
    """One switch :class:`IBNode` with its forwarding table per ``Unicast lids`` block."""
    result = FabricResult()
    block: _Block | None = None

    def close(trailer: int, lineno: int, line: str) -> None:
        nonlocal block
        if block is None:
            return
        done, block = block, None
        if done.bad:
            result.problem(done.lineno, done.line, "forwarding table left out")
            return
        if trailer != len(done.lids):
            result.problem(
                lineno, line, f"{len(done.lids)} entries read, the tool counted {trailer}"
            )
            return
        node = build(
            result,
            done.lineno,
            done.line,
            IBNode,
            guid=done.guid,
            node_type=IBNodeType.SWITCH,
            lid=done.lid,
            description=done.desc or None,
            route_lids=tuple(done.lids),
            route_ports=tuple(done.ports),
        )
        if node is not None:
            result.nodes.append(node)

    for lineno, line in enumerate(split_lines(text), start=1):
        if len(line) > MAX_LINE_CHARS:
            result.problem(lineno, line, f"line longer than {MAX_LINE_CHARS} characters")
            if block is not None:
                block.bad = True
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("ibwarn:") or _COLUMNS.match(line):
            continue
        if header := _HEADER.match(stripped):
            if block is not None:
                result.problem(block.lineno, block.line, "the table ends before its count")
            block = _Block(
                lineno,
                line,
                normalise_guid(header["guid"]),
                int(header["lid"]) if header["lid"] else None,
                header["desc"] or "",
            )
            continue
        if trailer := _TRAILER.match(stripped):
            if block is None:
                result.problem(lineno, line, "lids dumped with no table before")
            close(int(trailer["count"]), lineno, line)
            continue
        entry = _ENTRY.match(stripped)
        if entry is None or block is None:
            why = "multicast tables are not read" if _MULTICAST.match(stripped) else None
            result.problem(lineno, line, why or "not a forwarding table line")
            if block is not None:
                block.bad = True
            continue
        lid, port = int(entry["lid"], 16), int(entry["port"])
        if port > 254 or (block.lids and lid <= block.lids[-1]):
            result.problem(lineno, line, "an out port over 254, or a LID out of order")
            block.bad = True
            continue
        block.lids.append(lid)
        block.ports.append(port)
    if block is not None:  # no "lids dumped": the output ends early
        result.problem(block.lineno, block.line, "the table ends before its 'lids dumped' line")
    return result
