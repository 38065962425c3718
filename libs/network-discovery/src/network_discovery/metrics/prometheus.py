"""Interface counters from a Prometheus that already scrapes the network with snmp_exporter.

snmp_exporter's ``if_mib`` module exposes IF-MIB columns as series named after the MIB
objects (``ifHCInOctets``, ``ifInErrors``, ``ifOperStatus`` …) with an ``ifIndex`` label, the
``ifName``/``ifDescr`` lookups as labels, and the scraped agent as ``instance``. The reader
asks the HTTP API's range queries (``/api/v1/query_range``) for each series and for its
``timestamp()``, so every value keeps the moment it was scraped (a range query otherwise
stamps values with its step), and returns the same sample columns as the SNMP poller: the
rates then come from :func:`~network_discovery.metrics.compute_rates`, wraps and resets
included, rather than from PromQL's ``rate()`` (which takes every drop for a reset).

Label matchers are given as a mapping and encoded here; nothing a caller passes is spliced
into PromQL as text. Answers are bounded (series, points, bytes).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pyarrow as pa

from network_discovery.metrics._schema import SAMPLE_SCHEMA

__all__ = ["SERIES", "PrometheusError", "PrometheusReader"]

#: snmp_exporter series -> (sample column, counter width). Where both widths exist the
#: 64-bit one is used and the 32-bit one only for interfaces without it.
SERIES: dict[str, tuple[str, int]] = {
    "ifHCInOctets": ("in_octets", 64),
    "ifHCOutOctets": ("out_octets", 64),
    "ifInOctets": ("in_octets", 32),
    "ifOutOctets": ("out_octets", 32),
    "ifHCInUcastPkts": ("in_ucast", 64),
    "ifHCOutUcastPkts": ("out_ucast", 64),
    "ifHCInMulticastPkts": ("in_mcast", 64),
    "ifHCOutMulticastPkts": ("out_mcast", 64),
    "ifHCInBroadcastPkts": ("in_bcast", 64),
    "ifHCOutBroadcastPkts": ("out_bcast", 64),
    "ifInUcastPkts": ("in_ucast", 32),
    "ifOutUcastPkts": ("out_ucast", 32),
    "ifInMulticastPkts": ("in_mcast", 32),
    "ifOutMulticastPkts": ("out_mcast", 32),
    "ifInBroadcastPkts": ("in_bcast", 32),
    "ifOutBroadcastPkts": ("out_bcast", 32),
    "ifInErrors": ("in_errors", 32),
    "ifOutErrors": ("out_errors", 32),
    "ifInDiscards": ("in_discards", 32),
    "ifOutDiscards": ("out_discards", 32),
    "ifHighSpeed": ("speed_mbps", 0),
    "ifSpeed": ("speed_bps", 0),
    "ifOperStatus": ("oper_status", 0),
    "ifLastChange": ("last_change_ticks", 0),
    "ifCounterDiscontinuityTime": ("discontinuity_ticks", 0),
}
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PrometheusError(RuntimeError):
    """Prometheus refused or failed a query; the message says which and why."""


def _matchers(labels: Mapping[str, str]) -> str:
    parts = []
    for name, value in sorted(labels.items()):
        if not _LABEL.match(name) or name.startswith("__"):
            raise ValueError(f"{name!r} is not a label name")
        escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        parts.append(f'{name}="{escaped}"')
    return "{" + ",".join(parts) + "}"


@dataclass
class PrometheusReader:
    """Reads snmp_exporter's interface series from ``base_url`` (``http://prometheus:9090``).

    ``device_label`` names the device (``instance`` by default: the scraped agent);
    ``match`` narrows the series (``{"job": "snmp"}``)."""

    base_url: str
    client: httpx.AsyncClient | None = None
    device_label: str = "instance"
    match: Mapping[str, str] | None = None
    timeout: float = 30.0
    max_series: int = 200_000
    max_bytes: int = 256 * 1024 * 1024
    concurrency: int = 8
    #: snmp_exporter folds Counter64 values at 2**53 unless run with
    #: ``--no-snmp.wrap-large-counters``: then set this False
    wrapped_large_counters: bool = True

    async def samples(self, start: datetime, end: datetime, step: float) -> pa.Table:
        """Every scrape of every interface in ``[start, end]`` as sample rows. ``step`` (s) is
        the range query's resolution: at most the scrape interval, or scrapes are skipped."""
        if not _LABEL.match(self.device_label):
            raise ValueError(f"{self.device_label!r} is not a label name")
        if end <= start or step <= 0 or (end - start).total_seconds() / step > 11_000:
            raise ValueError("need start < end and at most 11000 steps (Prometheus' limit)")
        matchers = _matchers(self.match or {})
        client = self.client or httpx.AsyncClient(timeout=self.timeout)
        gate = asyncio.Semaphore(self.concurrency)
        try:

            async def both(name: str) -> tuple[str, list[Any], list[Any]]:
                async with gate:
                    values = await self._range(client, f"{name}{matchers}", start, end, step)
                    stamps = await self._range(
                        client, f"timestamp({name}{matchers})", start, end, step
                    )
                return name, values, stamps

            answers = await asyncio.gather(*(both(n) for n in (*SERIES, "sysUpTime")))
        finally:
            if self.client is None:
                await client.aclose()
        return self._table(answers, round(start.timestamp() * 1000), round(end.timestamp() * 1000))

    async def _range(
        self, client: httpx.AsyncClient, query: str, start: datetime, end: datetime, step: float
    ) -> list[Any]:
        try:
            response = await client.get(
                f"{self.base_url.rstrip('/')}/api/v1/query_range",
                params={
                    "query": query,
                    "start": f"{start.timestamp():.3f}",
                    "end": f"{end.timestamp():.3f}",
                    "step": f"{step:g}",
                },
            )
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {self.base_url} unreachable: {exc}") from exc
        if len(response.content) > self.max_bytes:
            raise PrometheusError(f"the answer to {query!r} exceeds {self.max_bytes} bytes")
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"Prometheus answered {response.status_code} without JSON to {query!r}"
            ) from None
        if body.get("status") != "success":
            raise PrometheusError(
                f"Prometheus refused {query!r}: {body.get('errorType')}: {body.get('error')}"
            )
        result = body.get("data", {}).get("result", [])
        if len(result) > self.max_series:
            raise PrometheusError(f"{query!r} matched more than {self.max_series} series")
        return list(result)

    def _table(
        self, answers: list[tuple[str, list[Any], list[Any]]], first_ms: int, last_ms: int
    ) -> pa.Table:
        # (device, ifIndex, scrape time in ms) -> {column: value}
        rows: dict[tuple[str, int, int], dict[str, Any]] = {}
        uptime: dict[tuple[str, int], int] = {}
        names: dict[tuple[str, int], str] = {}
        for metric, values, stamps in answers:
            stamped = {_key(s["metric"]): s["values"] for s in stamps}
            for series in values:
                labels = series["metric"]
                device = labels.get(self.device_label)
                when = stamped.get(_key(labels))
                if device is None or when is None:
                    continue
                # a step's value may come from a scrape before the window: left out
                points = [
                    (ms, v)
                    for ms, v in _points(series["values"], when)
                    if first_ms <= ms <= last_ms
                ]
                if metric == "sysUpTime":
                    for ms, value in points:
                        uptime[(device, ms)] = int(value)
                    continue
                try:
                    index = int(labels["ifIndex"])
                except (KeyError, ValueError):
                    continue
                name = labels.get("ifName") or labels.get("ifDescr") or str(index)
                names.setdefault((device, index), name)
                column, bits = SERIES[metric]
                for ms, value in points:
                    row = rows.setdefault((device, index, ms), {})
                    row[f"{column}@{bits}" if bits else column] = value
        return _columns(rows, uptime, names, 53 if self.wrapped_large_counters else 64)


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


def _points(values: list[list[Any]], stamps: list[list[Any]]) -> list[tuple[int, float]]:
    """The series' values at the scrape times: consecutive steps that repeat a scrape are
    one point."""
    at = {float(t): float(v) for t, v in stamps}
    seen: dict[int, float] = {}
    for t, v in values:
        scraped = at.get(float(t))
        value = float(v)
        if scraped is None or not math.isfinite(value) or not math.isfinite(scraped):
            continue
        seen.setdefault(round(scraped * 1000), value)
    return sorted(seen.items())


def _columns(
    rows: dict[tuple[str, int, int], dict[str, Any]],
    uptime: dict[tuple[str, int], int],
    names: dict[tuple[str, int], str],
    hc_bits: int,
) -> pa.Table:
    cols: dict[str, list[Any]] = {name: [] for name in SAMPLE_SCHEMA.names}
    counters = [c for c in SAMPLE_SCHEMA.names if c.endswith(("octets", "ucast", "mcast", "bcast"))]
    for (device, index, ms), row in sorted(rows.items()):
        cols["device"].append(device)
        cols["interface"].append(names[(device, index)])
        cols["if_index"].append(index)
        cols["ts"].append(datetime.fromtimestamp(ms / 1000, tz=UTC))
        cols["uptime_ticks"].append(uptime.get((device, ms)))
        # the 64-bit series where the interface has them, else the 32-bit ones
        hc_octets = "in_octets@64" in row or "out_octets@64" in row
        hc_packets = "in_ucast@64" in row or "out_ucast@64" in row
        for counter in counters:
            hc = hc_octets if counter.endswith("octets") else hc_packets
            value = row.get(f"{counter}@{64 if hc else 32}")
            cols[counter].append(int(value) if value is not None else None)
        for counter in ("in_errors", "out_errors", "in_discards", "out_discards"):
            value = row.get(f"{counter}@32")
            cols[counter].append(int(value) if value is not None else None)
        cols["octets_bits"].append(hc_bits if hc_octets else 32)
        cols["packets_bits"].append(hc_bits if hc_packets else 32)
        cols["errors_bits"].append(32)
        mbps, bps = row.get("speed_mbps"), row.get("speed_bps")
        speed = int(mbps) * 1_000_000 if mbps else int(bps) if bps else None
        cols["speed_bps"].append(speed)
        for column in ("oper_status", "last_change_ticks", "discontinuity_ticks"):
            value = row.get(column)
            cols[column].append(int(value) if value is not None else None)
        cols["source"].append("prometheus")
    return pa.table(cols, schema=SAMPLE_SCHEMA)
