"""The columns of interface counter samples and of the rates computed from them.

Counters are unsigned 64-bit columns (null where a device does not give that counter); one
row is one interface of one device at one moment. Every source (SNMP, CLI, Prometheus) fills
the same columns, so everything after collection works on one shape.
"""

from __future__ import annotations

import pyarrow as pa

from network_discovery.contracts.metrics import COUNTERS

__all__ = [
    "COUNTERS",
    "FLAG_AMBIGUOUS",
    "FLAG_COUNTER32",
    "FLAG_GAP",
    "FLAG_INVALID",
    "FLAG_RESET",
    "FLAG_WRAPPED",
    "RATE_SCHEMA",
    "SAMPLE_SCHEMA",
    "empty_samples",
]


SAMPLE_SCHEMA = pa.schema(
    [
        pa.field("device", pa.string(), nullable=False),
        pa.field("interface", pa.string(), nullable=False),
        pa.field("if_index", pa.int64()),
        # the collector's clock when the device answered
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        # sysUpTime in hundredths of a second (null where the source has none)
        pa.field("uptime_ticks", pa.int64()),
        *(pa.field(name, pa.uint64()) for name in COUNTERS),
        # width of the octet and packet counters: 64 (ifHC*), 32 (the IF-MIB originals) or
        # 53 (ifHC* through snmp_exporter, which folds them at 2**53), and of the error and
        # discard counters (32 in IF-MIB; 64 in NX-OS/EOS JSON)
        pa.field("octets_bits", pa.uint8()),
        pa.field("packets_bits", pa.uint8()),
        pa.field("errors_bits", pa.uint8()),
        pa.field("speed_bps", pa.uint64()),
        # IF-MIB ifOperStatus: 1 up, 2 down, 3 testing, 4 unknown, 5 dormant, 6 notPresent,
        # 7 lowerLayerDown
        pa.field("oper_status", pa.int8()),
        pa.field("last_change_ticks", pa.int64()),
        pa.field("discontinuity_ticks", pa.int64()),
        pa.field("source", pa.string(), nullable=False),
    ]
)

# Bits of the rates' ``flags`` column.
FLAG_WRAPPED = 1  #: a counter wrapped in the interval (the rate accounts for it)
FLAG_RESET = 2  #: the counters were reset (reboot, `clear counters`): no rate
FLAG_GAP = 4  #: the interval is longer than the expected poll interval allows (missed polls)
FLAG_AMBIGUOUS = 8  #: a 32-bit counter could have wrapped more than once: no rate
FLAG_COUNTER32 = 16  #: the octet rates come from 32-bit counters
FLAG_INVALID = 32  #: not a forward interval (same or earlier timestamp): no rate

RATE_SCHEMA = pa.schema(
    [
        pa.field("device", pa.string(), nullable=False),
        pa.field("interface", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("interval_s", pa.float64(), nullable=False),
        pa.field("in_bps", pa.float64()),
        pa.field("out_bps", pa.float64()),
        pa.field("in_pps", pa.float64()),
        pa.field("out_pps", pa.float64()),
        pa.field("in_errors_ps", pa.float64()),
        pa.field("out_errors_ps", pa.float64()),
        pa.field("in_discards_ps", pa.float64()),
        pa.field("out_discards_ps", pa.float64()),
        pa.field("speed_bps", pa.float64()),
        pa.field("in_util_pct", pa.float64()),
        pa.field("out_util_pct", pa.float64()),
        pa.field("oper_status", pa.int8()),
        # status changes seen in the interval (a lower bound: ifLastChange moved while the
        # status reads the same means at least a down and an up)
        pa.field("status_changes", pa.int32(), nullable=False),
        pa.field("flags", pa.int32(), nullable=False),
    ]
)


def empty_samples() -> pa.Table:
    return SAMPLE_SCHEMA.empty_table()
