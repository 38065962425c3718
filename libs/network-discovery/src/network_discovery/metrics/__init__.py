"""Interface metrics: counter samples from SNMP, CLI output or Prometheus, and their rates.

Every source gives a table of :data:`SAMPLE_SCHEMA` (one row per interface and moment);
:func:`compute_rates` turns successive samples into rates, utilisation and status changes.
"""

from network_discovery.metrics._schema import (
    COUNTERS,
    FLAG_AMBIGUOUS,
    FLAG_COUNTER32,
    FLAG_GAP,
    FLAG_INVALID,
    FLAG_RESET,
    FLAG_WRAPPED,
    RATE_SCHEMA,
    SAMPLE_SCHEMA,
    empty_samples,
)
from network_discovery.metrics.rates import compute_rates

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
    "compute_rates",
    "empty_samples",
]
