"""Port counters: ``perfquery`` (``-x`` extended too) and ``ibqueryerrors``.

``perfquery`` prints one block per port read::

    # Port counters: Lid 11 port 3 (CapMask: 0x1300)
    SymbolErrorCounter:..............17
    ...

``ibqueryerrors`` prints the ports whose error counters pass their thresholds::

    Errors for 0xc42a10300000400 "MF0;leaf01:MQM8700/U1"
       GUID 0xc42a10300000400 port 3: [SymbolErrorCounter == 17] [LinkDownedCounter == 3]
"""

from __future__ import annotations

import re
from typing import Any

from network_discovery.model.fabric import COUNTER_FIELDS, IBPortCounters
from network_discovery.parsers.infiniband._common import (
    MAX_LINE_CHARS,
    FabricResult,
    LineError,
    build,
    split_lines,
)

__all__ = ["parse_ibqueryerrors", "parse_perfquery"]

_BLOCK = re.compile(
    r"^# Port (?P<ext>extended )?counters: Lid (?P<lid>\d+) port (?P<port>\d+|ALL)"
    r"(?:\s+\(CapMask: 0x[0-9a-fA-F]+(?: CapMask2: 0x[0-9a-fA-F]+)?\))?\s*$"
)
_VALUE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*):\.*(?P<value>0x[0-9a-fA-F]+|\d+)\s*$")
#: perfquery's own bookkeeping fields.
_BOOKKEEPING = frozenset({"PortSelect", "CounterSelect", "CounterSelect2"})
#: The names infiniband-diags printed before libibmad took the IBA names (OFED 1.x).
_LEGACY_NAMES = {
    "SymbolErrors": "symbol_errors",
    "LinkRecovers": "link_error_recovery",
    "LinkDowned": "link_downed",
    "RcvErrors": "rcv_errors",
    "RcvRemotePhysErrors": "rcv_remote_physical_errors",
    "RcvSwRelayErrors": "rcv_switch_relay_errors",
    "XmtDiscards": "xmit_discards",
    "XmtConstraintErrors": "xmit_constraint_errors",
    "RcvConstraintErrors": "rcv_constraint_errors",
    "LinkIntegrityErrors": "local_link_integrity_errors",
    "ExcBufOverrunErrors": "excessive_buffer_overrun_errors",
    "XmtData": "xmit_data",
    "RcvData": "rcv_data",
    "XmtPkts": "xmit_pkts",
    "RcvPkts": "rcv_pkts",
    "XmtWait": "xmit_wait",
}
#: perfquery's "all ports" selector.
_ALL_PORTS = 255


def _port(text: str) -> int | None:
    value = None if text == "ALL" else int(text)
    return None if value == _ALL_PORTS else value


def parse_perfquery(text: str | bytes) -> FabricResult:
    """One :class:`IBPortCounters` per ``# Port counters`` block (several outputs may be
    concatenated). Counter lines outside a block, or a block without counters, are reported."""
    result = FabricResult()
    block: dict[str, Any] | None = None
    start, header, counted = 0, "", 0

    def close() -> None:
        if block is None:
            return
        if not counted:
            result.problem(start, header, "counter block without counters")
            return
        built = build(result, start, header, IBPortCounters, **block)
        if built is not None:
            result.counters.append(built)

    for lineno, raw in enumerate(split_lines(text), 1):
        line = raw.strip()
        if not line:
            continue
        if len(line) > MAX_LINE_CHARS:
            result.problem(lineno, line[:200], f"line longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            if m := _BLOCK.match(line):
                close()
                start, header, counted = lineno, line, 0
                block = {
                    "lid": int(m["lid"]),
                    "port": _port(m["port"]),
                    "extended": bool(m["ext"]),
                    "source": "perfquery",
                }
                continue
            if not (m := _VALUE.match(line)):
                raise LineError("not a perfquery line")
            if block is None:
                raise LineError("counter outside a '# Port counters' block")
            if m["name"] in _BOOKKEEPING:
                continue
            field = COUNTER_FIELDS.get(m["name"]) or _LEGACY_NAMES.get(m["name"])
            if field is None:
                result.warning(lineno, line, f"counter {m['name']} is not kept")
                continue
            if field in block:
                raise LineError(f"{m['name']} twice in one block")
            block[field] = int(m["value"], 0)
            counted += 1
        except LineError as exc:
            result.problem(lineno, line, str(exc))
    close()
    return result


_NODE = re.compile(r'^Errors for (?:0x(?P<guid>[0-9a-fA-F]{1,16}) )?"(?P<desc>.*)"\s*$')
_PORT = re.compile(r"^GUID 0x(?P<guid>[0-9a-fA-F]{1,16}) port (?P<port>\d+|ALL):(?P<values>.*)$")
_PAIR = re.compile(r"\[(?P<name>\w+) == (?P<value>\d+)(?: \([^)]*\))?\]")
_IQE_SKIP = re.compile(r"^(?:##.*|Link info:.*|Data Counters for .*|Suppressed:.*)$")


def parse_ibqueryerrors(text: str | bytes) -> FabricResult:
    """One :class:`IBPortCounters` per ``GUID … port N:`` line, with the counters it names
    (the others are ``None``: not over their threshold, or suppressed)."""
    result = FabricResult()
    desc: str | None = None
    for lineno, raw in enumerate(split_lines(text), 1):
        line = raw.strip()
        if not line:
            continue
        if len(line) > MAX_LINE_CHARS:
            result.problem(lineno, line[:200], f"line longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            if m := _NODE.match(line):
                desc = m["desc"]
                continue
            if _IQE_SKIP.match(line):
                continue
            if not (m := _PORT.match(line)):
                raise LineError("not an ibqueryerrors line")
            values: dict[str, Any] = {}
            rest = _PAIR.sub("", m["values"]).strip()
            if rest:
                raise LineError(f"unreadable counters {rest!r}")
            for pair in _PAIR.finditer(m["values"]):
                field = COUNTER_FIELDS.get(pair["name"]) or _LEGACY_NAMES.get(pair["name"])
                if field is None:
                    result.warning(lineno, line, f"counter {pair['name']} is not kept")
                    continue
                values[field] = int(pair["value"])
            built = build(
                result,
                lineno,
                line,
                IBPortCounters,
                port_guid=m["guid"],
                port=_port(m["port"]),
                node_description=desc,
                source="ibqueryerrors",
                **values,
            )
            if built is not None:
                result.counters.append(built)
        except LineError as exc:
            result.problem(lineno, line, str(exc))
    return result
