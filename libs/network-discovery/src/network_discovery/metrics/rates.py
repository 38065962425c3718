"""Rates from successive counter samples, computed in columns.

``compute_rates`` sorts the samples by device, interface and time and turns every pair of
consecutive samples of one interface into one row of :data:`RATE_SCHEMA`:

- a counter that went down wrapped: the delta is taken modulo 2**width (``*_bits``: 32, 64,
  or 53 for snmp_exporter's folded Counter64 values);
- the counters were reset, and the interval has no rates (``FLAG_RESET``), when sysUpTime
  went back (a reboot), ifCounterDiscontinuityTime changed, the octets or packets counted
  exceed what the interface's speed allows (``clear counters`` looks like a wrap until its
  implied rate is impossible), or, speed unknown, a 64-bit counter "wrapped" by 2**62 or more
  in one interval (no link carries that);
- a counter narrower than 64 bits that could have wrapped more than once in the interval (a
  fast interface polled slowly) gives no rate (``FLAG_AMBIGUOUS``): the true count cannot be known;
- an interval longer than ``gap_factor`` times the expected poll interval (missed polls) is
  kept, as an average over the gap, and flagged ``FLAG_GAP``;
- utilisation is the bit rate over the interface speed; status changes come from
  ifOperStatus and ifLastChange.

Everything is numpy over whole columns: no Python object per row.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from network_discovery.metrics._schema import (
    COUNTERS,
    FLAG_AMBIGUOUS,
    FLAG_COUNTER32,
    FLAG_GAP,
    FLAG_INVALID,
    FLAG_RESET,
    FLAG_WRAPPED,
    RATE_SCHEMA,
)

__all__ = ["compute_rates", "latest_per_interface"]

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

_ALL64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_IMPLAUSIBLE64 = float(2**62)
#: Octets beyond this share of the line rate mean the counters were reset.
_LINE_RATE_SLACK = 1.10
#: The smallest Ethernet frame on the wire (64 bytes, preamble and gap: 84), for packet bounds.
_MIN_WIRE_FRAME_BITS = 84 * 8


def _column(table: pa.Table, name: str) -> pa.Array:
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _values(table: pa.Table, name: str, dtype: type) -> tuple[npt.NDArray[np.generic], B]:
    arr = _column(table, name)
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    values: npt.NDArray[np.generic] = np.asarray(
        arr.fill_null(0).to_numpy(zero_copy_only=False)
    ).astype(dtype, copy=False)
    return values, valid


class _Pairs:
    """Previous (``p``) and current (``c``) rows of every pair of one interface's samples."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        n = table.num_rows
        if n < 2:
            self.same: B = np.zeros(0, dtype=bool)
            self.cur = self.prev = np.zeros(0, dtype=np.intp)
            return
        device = _column(table, "device")
        interface = _column(table, "interface")
        same_device = pc.equal(device.slice(1), device.slice(0, n - 1))
        same_interface = pc.equal(interface.slice(1), interface.slice(0, n - 1))
        same = pc.and_(same_device, same_interface).fill_null(False)
        self.same = np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool)
        #: row numbers of the current and the previous sample of every pair
        self.cur = np.flatnonzero(self.same) + 1
        self.prev = self.cur - 1

    def get_ts(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        ts = _column(self.table, "ts").cast(pa.int64())
        values = np.asarray(ts.to_numpy(zero_copy_only=False), dtype=np.int64)
        return values[self.prev], values[self.cur]

    def get(self, name: str, dtype: type) -> tuple[np.ndarray, np.ndarray, B]:
        values, valid = _values(self.table, name, dtype)
        return values[self.prev], values[self.cur], valid[self.prev] & valid[self.cur]


def compute_rates(
    samples: pa.Table,
    *,
    expected_interval_s: float | None = None,
    gap_factor: float = 2.5,
) -> pa.Table:
    """One rate row per pair of consecutive samples of an interface (see the module text)."""
    if samples.num_rows < 2:
        return RATE_SCHEMA.empty_table()
    order = pc.sort_indices(
        samples,
        sort_keys=[("device", "ascending"), ("interface", "ascending"), ("ts", "ascending")],
    )
    table = samples.take(order)
    pairs = _Pairs(table)
    if not pairs.same.any():
        return RATE_SCHEMA.empty_table()

    t0, t1 = pairs.get_ts()
    dt = (t1 - t0).astype(np.float64) / 1e6
    invalid = dt <= 0
    safe_dt = np.where(invalid, np.nan, dt)
    flags = np.where(invalid, FLAG_INVALID, 0).astype(np.int32)
    if expected_interval_s:
        flags |= np.where(dt > gap_factor * expected_interval_s, FLAG_GAP, 0).astype(np.int32)

    reset = np.zeros(dt.shape, dtype=bool)
    up0, up1, up_ok = pairs.get("uptime_ticks", np.int64)
    reset |= up_ok & (up1 < up0)
    dc0, dc1, dc_ok = pairs.get("discontinuity_ticks", np.int64)
    reset |= dc_ok & (dc1 != dc0)

    _, speed1, speed_ok = pairs.get("speed_bps", np.float64)
    speed = np.where(speed_ok & (speed1 > 0), speed1, np.nan)

    widths = {
        "octets": pairs.get("octets_bits", np.uint8),
        "packets": pairs.get("packets_bits", np.uint8),
        "errors": pairs.get("errors_bits", np.uint8),
    }
    deltas: dict[str, F64] = {}
    wrapped = np.zeros(dt.shape, dtype=bool)
    ambiguous_octets = np.zeros(dt.shape, dtype=bool)
    ambiguous_packets = np.zeros(dt.shape, dtype=bool)
    max_octets = speed * np.nan_to_num(safe_dt) / 8
    max_packets = speed * np.nan_to_num(safe_dt) / _MIN_WIRE_FRAME_BITS
    for name in COUNTERS:
        family = "octets" if "octets" in name else "packets" if name[-5:] in _PKT else "errors"
        _, bits, bits_ok = widths[family]
        # a width below 64: 32 (IF-MIB's originals) or 53 (snmp_exporter folds Counter64
        # values at 2**53 to keep them exact in float64)
        narrow = bits_ok & (bits > 0) & (bits < 64)
        width = np.where(narrow, bits, 64).astype(np.uint64)
        mask = np.where(
            narrow, (np.uint64(1) << np.minimum(width, np.uint64(63))) - np.uint64(1), _ALL64
        )
        span = np.where(narrow, np.exp2(width.astype(np.float64)), np.inf)
        c0, c1, ok = pairs.get(name, np.uint64)
        went_down = ok & (c1 < c0)
        raw = c1 - c0  # uint64 arithmetic wraps modulo 2**64
        delta = (raw & mask).astype(np.float64)
        wrapped |= went_down
        # a 64-bit count this large in one poll is no traffic: the counter restarted
        reset |= went_down & ~narrow & (delta >= _IMPLAUSIBLE64)
        if family == "octets":
            ambiguous_octets |= ok & narrow & (max_octets >= span)
            reset |= ok & (delta > _LINE_RATE_SLACK * np.nan_to_num(max_octets, nan=np.inf))
            flags |= np.where(ok & bits_ok & (bits == 32), FLAG_COUNTER32, 0).astype(np.int32)
        elif family == "packets":
            ambiguous_packets |= ok & narrow & (max_packets >= span)
            reset |= ok & (delta > _LINE_RATE_SLACK * np.nan_to_num(max_packets, nan=np.inf))
        deltas[name] = np.where(ok, delta, np.nan)

    flags |= np.where(reset, FLAG_RESET, 0).astype(np.int32)
    flags |= np.where(wrapped & ~reset, FLAG_WRAPPED, 0).astype(np.int32)
    flags |= np.where((ambiguous_octets | ambiguous_packets) & ~reset, FLAG_AMBIGUOUS, 0).astype(
        np.int32
    )
    no_rate = invalid | reset

    def per_second(delta: F64, ambiguous: B | None = None, scale: float = 1.0) -> F64:
        bad = no_rate if ambiguous is None else no_rate | ambiguous
        return np.where(bad, np.nan, delta * scale / safe_dt)

    def packets(direction: str) -> F64:
        parts = [deltas[f"{direction}_{kind}"] for kind in ("ucast", "mcast", "bcast")]
        stacked = np.vstack(parts)
        total = np.nansum(stacked, axis=0)
        total = np.where(np.isnan(stacked).all(axis=0), np.nan, total)
        return per_second(total, ambiguous_packets)

    in_bps = per_second(deltas["in_octets"], ambiguous_octets, 8.0)
    out_bps = per_second(deltas["out_octets"], ambiguous_octets, 8.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        in_util = in_bps / speed * 100.0
        out_util = out_bps / speed * 100.0

    st0, st1, st_ok = pairs.get("oper_status", np.int8)
    lc0, lc1, lc_ok = pairs.get("last_change_ticks", np.int64)
    status_differs = st_ok & (st1 != st0)
    moved = lc_ok & (lc1 != lc0) & ~reset
    changes = np.where(status_differs, 1, np.where(moved, 2, 0)).astype(np.int32)
    status_now, status_valid = _status_now(table, pairs.cur)

    keep = pairs.cur  # the current row of every pair
    return pa.table(
        {
            "device": _column(table, "device").take(pa.array(keep)),
            "interface": _column(table, "interface").take(pa.array(keep)),
            "ts": _column(table, "ts").take(pa.array(keep)),
            "interval_s": pa.array(dt),
            "in_bps": _float(in_bps),
            "out_bps": _float(out_bps),
            "in_pps": _float(packets("in")),
            "out_pps": _float(packets("out")),
            "in_errors_ps": _float(per_second(deltas["in_errors"])),
            "out_errors_ps": _float(per_second(deltas["out_errors"])),
            "in_discards_ps": _float(per_second(deltas["in_discards"])),
            "out_discards_ps": _float(per_second(deltas["out_discards"])),
            "speed_bps": _float(speed),
            "in_util_pct": _float(in_util),
            "out_util_pct": _float(out_util),
            "oper_status": pa.array(status_now, mask=~status_valid, type=pa.int8()),
            "status_changes": pa.array(changes),
            "flags": pa.array(flags),
        },
        schema=RATE_SCHEMA,
    )


_PKT = ("ucast", "mcast", "bcast")


def _float(values: F64) -> pa.Array:
    return pa.array(values, from_pandas=True, type=pa.float64())


def _status_now(table: pa.Table, cur: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.generic], B]:
    values, valid = _values(table, "oper_status", np.int8)
    return values[cur], valid[cur]


def latest_per_interface(samples: pa.Table) -> pa.Table:
    """Each interface's newest sample (what the next poll's rates start from)."""
    if samples.num_rows < 2:
        return samples
    order = pc.sort_indices(
        samples,
        sort_keys=[("device", "ascending"), ("interface", "ascending"), ("ts", "ascending")],
    )
    table = samples.take(order)
    pairs = _Pairs(table)
    last = np.ones(table.num_rows, dtype=bool)
    last[pairs.prev] = False  # a row followed by a newer one of its interface
    return table.filter(pa.array(last))
