"""Interface counters from device output, where SNMP is off.

- Arista EOS ``show interfaces | json`` (eAPI): 64-bit octet, packet, error and discard
  counters; each interface's ``counterRefreshTime`` is the moment of its counters, and
  ``lastClear`` (`clear counters`) its counter discontinuity.
- Cisco NX-OS ``show interface | json``: the ``eth_*`` counters (strings or numbers, as NX-API
  gives them). The output carries no time: the caller says when the command ran.
- Cisco IOS ``show interfaces`` (text), through a TextFSM template of ours beside this module
  (ntc-templates' template reads packets but not bytes): octets, errors and queue drops. IOS
  prints only packet totals, with no unicast/multicast/broadcast split that adds up, so its
  packet rates are left unknown rather than guessed.

Every function returns rows of :data:`SAMPLE_SCHEMA` with ``source="cli"``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pyarrow as pa
import textfsm

from network_discovery.metrics._schema import SAMPLE_SCHEMA

__all__ = ["samples_from_eos_json", "samples_from_ios_text", "samples_from_nxos_json"]

#: ifOperStatus values for the words devices print
_OPER = {
    "up": 1,
    "connected": 1,
    "down": 2,
    "notconnect": 2,
    "disabled": 2,
    "administratively down": 2,
    "testing": 3,
    "unknown": 4,
    "dormant": 5,
    "notpresent": 6,
    "lowerlayerdown": 7,
}
_MAX_U64 = 2**64 - 1


def _count(value: Any) -> int | None:
    """A counter from JSON or text: a non-negative integer below 2**64, else unknown."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    elif isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            return None
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= _MAX_U64:
        return None
    return value


def _oper(word: Any) -> int | None:
    if not isinstance(word, str):
        return None
    key = word.strip().lower()
    return _OPER.get(key, _OPER.get(key.replace(" ", ""), 4))


def _new() -> dict[str, list[Any]]:
    return {name: [] for name in SAMPLE_SCHEMA.names}


def _append(cols: dict[str, list[Any]], **row: Any) -> None:
    for name in SAMPLE_SCHEMA.names:
        cols[name].append(row.get(name))


def _ticks(epoch: Any) -> int | None:
    """An epoch time in hundredths of a second: only compared, sample to sample."""
    if isinstance(epoch, int | float) and not isinstance(epoch, bool) and math.isfinite(epoch):
        return round(epoch * 100)
    return None


def samples_from_eos_json(device: str, doc: Mapping[str, Any], ts: datetime) -> pa.Table:
    """EOS ``show interfaces | json``; ``ts`` stands in where an interface has no
    ``counterRefreshTime``."""
    cols = _new()
    interfaces = doc.get("interfaces") if isinstance(doc, Mapping) else None
    for name, body in (interfaces or {}).items():
        if not isinstance(body, Mapping):
            continue
        counters = body.get("interfaceCounters")
        counters = counters if isinstance(counters, Mapping) else {}
        refreshed = counters.get("counterRefreshTime")
        when = (
            datetime.fromtimestamp(refreshed, tz=UTC)
            if isinstance(refreshed, int | float) and math.isfinite(refreshed) and refreshed > 0
            else ts
        )
        bandwidth = _count(body.get("bandwidth"))
        _append(
            cols,
            device=device,
            interface=str(name),
            ts=when,
            in_octets=_count(counters.get("inOctets")),
            out_octets=_count(counters.get("outOctets")),
            in_ucast=_count(counters.get("inUcastPkts")),
            out_ucast=_count(counters.get("outUcastPkts")),
            in_mcast=_count(counters.get("inMulticastPkts")),
            out_mcast=_count(counters.get("outMulticastPkts")),
            in_bcast=_count(counters.get("inBroadcastPkts")),
            out_bcast=_count(counters.get("outBroadcastPkts")),
            in_errors=_count(counters.get("totalInErrors")),
            out_errors=_count(counters.get("totalOutErrors")),
            in_discards=_count(counters.get("inDiscards")),
            out_discards=_count(counters.get("outDiscards")),
            octets_bits=64,
            packets_bits=64,
            errors_bits=64,
            speed_bps=bandwidth or None,
            oper_status=_oper(body.get("lineProtocolStatus")),
            last_change_ticks=_ticks(body.get("lastStatusChangeTimestamp")),
            discontinuity_ticks=_ticks(counters.get("lastClear")),
            source="cli",
        )
    return pa.table(cols, schema=SAMPLE_SCHEMA)


def _rows(doc: Any, table: str, row: str) -> list[Mapping[str, Any]]:
    rows = doc.get(f"TABLE_{table}", {}).get(f"ROW_{row}", []) if isinstance(doc, Mapping) else []
    rows = [rows] if isinstance(rows, Mapping) else rows
    return [r for r in rows if isinstance(r, Mapping)]


def samples_from_nxos_json(device: str, doc: Mapping[str, Any], ts: datetime) -> pa.Table:
    """NX-OS ``show interface | json``, run at ``ts``. Interfaces without ``eth_*``
    counters (``mgmt0`` on some releases, SVIs) give rows of unknown counters."""
    cols = _new()
    for body in _rows(doc, "interface", "interface"):
        name = body.get("interface")
        if not isinstance(name, str) or not name:
            continue
        kbit = _count(body.get("eth_bw") if "eth_bw" in body else body.get("svi_bw"))
        state = body.get("state", body.get("svi_line_proto"))
        _append(
            cols,
            device=device,
            interface=name,
            ts=ts,
            in_octets=_count(body.get("eth_inbytes")),
            out_octets=_count(body.get("eth_outbytes")),
            in_ucast=_count(body.get("eth_inucast")),
            out_ucast=_count(body.get("eth_outucast")),
            in_mcast=_count(body.get("eth_inmcast")),
            out_mcast=_count(body.get("eth_outmcast")),
            in_bcast=_count(body.get("eth_inbcast")),
            out_bcast=_count(body.get("eth_outbcast")),
            in_errors=_count(body.get("eth_inerr")),
            out_errors=_count(body.get("eth_outerr")),
            in_discards=_count(body.get("eth_indiscard")),
            out_discards=_count(body.get("eth_outdiscard")),
            octets_bits=64,
            packets_bits=64,
            errors_bits=64,
            speed_bps=kbit * 1000 if kbit else None,
            oper_status=_oper(state),
            source="cli",
        )
    return pa.table(cols, schema=SAMPLE_SCHEMA)


def _ios_template() -> str:
    path = resources.files("network_discovery.metrics").joinpath(
        "templates", "cisco_ios_show_interfaces_counters.textfsm"
    )
    return path.read_text(encoding="utf-8")


def samples_from_ios_text(device: str, text: str, ts: datetime) -> pa.Table:
    """IOS ``show interfaces`` (text), run at ``ts``."""
    fsm = textfsm.TextFSM(io.StringIO(_ios_template()))
    cols = _new()
    for record in fsm.ParseTextToDicts(text.replace("\r\n", "\n")):
        kbit = _count(record["BANDWIDTH_KBIT"])
        _append(
            cols,
            device=device,
            interface=record["INTERFACE"],
            ts=ts,
            in_octets=_count(record["INPUT_BYTES"]),
            out_octets=_count(record["OUTPUT_BYTES"]),
            in_errors=_count(record["INPUT_ERRORS"]),
            out_errors=_count(record["OUTPUT_ERRORS"]),
            in_discards=_count(record["INPUT_DROPS"]),
            out_discards=_count(record["OUTPUT_DROPS"]),
            # the text does not say how wide the counters are: read as 64-bit, a counter
            # that went down is a reset (no rate), never a guessed wrap
            octets_bits=64,
            packets_bits=64,
            errors_bits=64,
            speed_bps=kbit * 1000 if kbit else None,
            oper_status=_oper(record["PROTOCOL_STATUS"]),
            source="cli",
        )
    return pa.table(cols, schema=SAMPLE_SCHEMA)
