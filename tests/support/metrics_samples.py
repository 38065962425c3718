"""Interface counter samples as a poller hands them to the metrics pipeline, built from the
fields a test cares about: the rest are those of a quiet, healthy interface polled over SNMP
with 64-bit counters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
from network_discovery.metrics import SAMPLE_SCHEMA

__all__ = ["QUIET", "samples"]

#: The fields of a sample with no errors or discards, up, never cleared, 64-bit, from SNMP.
QUIET: dict[str, Any] = {
    "in_errors": 0,
    "out_errors": 0,
    "in_discards": 0,
    "out_discards": 0,
    "octets_bits": 64,
    "packets_bits": 64,
    "errors_bits": 32,
    "oper_status": 1,
    "last_change_ticks": 0,
    "discontinuity_ticks": 0,
    "source": "snmp",
}


def samples(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """The samples of ``rows`` (each on top of :data:`QUIET`) as a ``SAMPLE_SCHEMA`` table."""
    return pa.Table.from_pylist([{**QUIET, **row} for row in rows], schema=SAMPLE_SCHEMA)
