"""Interface counters over SNMP: IF-MIB and IF-MIB's ifXTable, through discovery's client.

The same pysnmp engine, credentials and GETBULK walker as SNMP discovery
(:class:`~network_discovery.discovery.snmp.SnmpCollector`): one engine on its own event-loop
thread, devices polled side by side (at most ``concurrency`` at once, each within
``device_timeout`` seconds), the columns of one device walked concurrently.

The 64-bit ifHC* counters are read where the agent has them; an interface without them
(SNMPv1-era agents, some virtual interfaces) falls back to the 32-bit ifIn/OutOctets and
packet counters, and its samples say so (``octets_bits``/``packets_bits`` = 32).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import structlog

from network_discovery.discovery._secrets import CredentialError
from network_discovery.discovery._snmp_client import SnmpFailure, Table, Walker, auth_data
from network_discovery.discovery.inventory import Target
from network_discovery.discovery.result import DeviceStatus
from network_discovery.discovery.snmp import DEFAULT_SNMP_PORT, SnmpCollector
from network_discovery.metrics._schema import SAMPLE_SCHEMA

__all__ = ["COUNTER_OIDS", "PollFailure", "PollResult", "SnmpCounterPoller", "samples_from_tables"]

log = structlog.get_logger(__name__)

_IF = "1.3.6.1.2.1.2.2.1"
_IFX = "1.3.6.1.2.1.31.1.1.1"
#: Column -> numeric OID. ``hc_*`` are the 64-bit ifXTable counters, the rest IF-MIB's.
COUNTER_OIDS = {
    "sysUpTime": "1.3.6.1.2.1.1.3",
    "sysName": "1.3.6.1.2.1.1.5",
    "ifDescr": f"{_IF}.2",
    "ifName": f"{_IFX}.1",
    "ifSpeed": f"{_IF}.5",
    "ifHighSpeed": f"{_IFX}.15",
    "ifOperStatus": f"{_IF}.8",
    "ifLastChange": f"{_IF}.9",
    "ifCounterDiscontinuityTime": f"{_IFX}.19",
    "hc_in_octets": f"{_IFX}.6",
    "hc_in_ucast": f"{_IFX}.7",
    "hc_in_mcast": f"{_IFX}.8",
    "hc_in_bcast": f"{_IFX}.9",
    "hc_out_octets": f"{_IFX}.10",
    "hc_out_ucast": f"{_IFX}.11",
    "hc_out_mcast": f"{_IFX}.12",
    "hc_out_bcast": f"{_IFX}.13",
    "in_octets": f"{_IF}.10",
    "in_ucast": f"{_IF}.11",
    "in_discards": f"{_IF}.13",
    "in_errors": f"{_IF}.14",
    "out_octets": f"{_IF}.16",
    "out_ucast": f"{_IF}.17",
    "out_discards": f"{_IF}.19",
    "out_errors": f"{_IF}.20",
    "in_mcast": f"{_IFX}.2",
    "in_bcast": f"{_IFX}.3",
    "out_mcast": f"{_IFX}.4",
    "out_bcast": f"{_IFX}.5",
}
#: Read at the moment of the sample (timed); the rest describes the interfaces.
_COUNTERS = tuple(
    name
    for name in COUNTER_OIDS
    if name.startswith(("hc_", "in_", "out_")) or name in ("sysUpTime", "ifOperStatus")
)
_DESCRIBE = tuple(name for name in COUNTER_OIDS if name not in _COUNTERS)
_OCTETS = ("in_octets", "out_octets")
_PACKETS = ("in_ucast", "in_mcast", "in_bcast", "out_ucast", "out_mcast", "out_bcast")
_ERRORS = ("in_errors", "out_errors", "in_discards", "out_discards")


@dataclass(frozen=True)
class PollFailure:
    device: str
    status: DeviceStatus
    detail: str


@dataclass
class PollResult:
    samples: pa.Table
    failures: list[PollFailure] = field(default_factory=list)
    #: Devices with interfaces read from 32-bit octet counters: {device: interface count}.
    counter32: dict[str, int] = field(default_factory=dict)
    #: Per device (as its target is labelled), the seconds its counters took to read: the
    #: sample time is the middle, so a rate's interval is known to within about this much.
    read_spread_s: dict[str, float] = field(default_factory=dict)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).strip().strip("\x00") if value is not None else ""
    return text or None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def samples_from_tables(
    device: str, tables: Mapping[str, Table], ts: datetime, *, source: str = "snmp"
) -> tuple[pa.Table, int]:
    """One device's walked tables -> its sample rows, and how many interfaces fell back to
    32-bit octet counters."""
    uptime = next((_int(v) for v in tables.get("sysUpTime", {}).values()), None)
    indexes = sorted(
        {i[0] for name in ("ifDescr", "ifName") for i in tables.get(name, {}) if len(i) == 1}
    )
    cols: dict[str, list[Any]] = {name: [] for name in SAMPLE_SCHEMA.names}
    fallback = 0

    def cell(name: str, index: int) -> int | None:
        return _int(tables.get(name, {}).get((index,)))

    for index in indexes:
        name = _text(tables.get("ifName", {}).get((index,))) or _text(
            tables.get("ifDescr", {}).get((index,))
        )
        if name is None:
            continue
        hc_octets = cell("hc_in_octets", index) is not None or cell("hc_out_octets", index)
        hc_packets = cell("hc_in_ucast", index) is not None or cell("hc_out_ucast", index)
        if not hc_octets and cell("in_octets", index) is not None:
            fallback += 1
        cols["device"].append(device)
        cols["interface"].append(name)
        cols["if_index"].append(index)
        cols["ts"].append(ts)
        cols["uptime_ticks"].append(uptime)
        for counter in _OCTETS:
            cols[counter].append(cell(f"hc_{counter}" if hc_octets else counter, index))
        for counter in _PACKETS:
            cols[counter].append(cell(f"hc_{counter}" if hc_packets else counter, index))
        for counter in _ERRORS:
            cols[counter].append(cell(counter, index))
        cols["octets_bits"].append(64 if hc_octets else 32)
        cols["packets_bits"].append(64 if hc_packets else 32)
        cols["errors_bits"].append(32)
        high, low = cell("ifHighSpeed", index), cell("ifSpeed", index)
        # ifSpeed tops out at 4294967295: above that ifHighSpeed (Mbit/s) is the one to read
        speed = high * 1_000_000 if high else low
        cols["speed_bps"].append(speed if speed else None)
        cols["oper_status"].append(cell("ifOperStatus", index))
        cols["last_change_ticks"].append(cell("ifLastChange", index))
        cols["discontinuity_ticks"].append(cell("ifCounterDiscontinuityTime", index))
        cols["source"].append(source)
    return pa.table(cols, schema=SAMPLE_SCHEMA), fallback


class SnmpCounterPoller(SnmpCollector):
    """Polls interface counters; ``poll(targets)`` returns one sample table for them all.

    A context manager like its parent (one pysnmp engine for the poller's lifetime)."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        retries: int = 1,
        concurrency: int = 32,
        device_timeout: float = 60.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if concurrency < 1 or device_timeout <= 0:
            raise ValueError("concurrency must be at least 1 and device_timeout positive")
        super().__init__(timeout=timeout, retries=retries, environ=environ)
        self.concurrency = concurrency
        self.device_timeout = device_timeout

    async def poll(self, targets: Sequence[Target]) -> PollResult:
        """Every target once, at most ``concurrency`` at a time."""
        future = asyncio.run_coroutine_threadsafe(self._poll_all(targets), self._loop)
        return await asyncio.wrap_future(future)

    async def _poll_all(self, targets: Sequence[Target]) -> PollResult:
        gate = asyncio.Semaphore(self.concurrency)
        result = PollResult(SAMPLE_SCHEMA.empty_table())
        spreads: dict[str, float] = {}

        async def one(target: Target) -> pa.Table | None:
            async with gate:
                try:
                    table, fallback = await asyncio.wait_for(
                        self._poll_device(target, spreads), self.device_timeout
                    )
                except TimeoutError:
                    failure = PollFailure(
                        target.label, DeviceStatus.TIMED_OUT, "no complete answer in time"
                    )
                except SnmpFailure as exc:
                    failure = PollFailure(target.label, exc.status, exc.detail)
                except CredentialError as exc:
                    failure = PollFailure(target.label, DeviceStatus.ERROR, str(exc))
                except OSError as exc:
                    failure = PollFailure(
                        target.label,
                        DeviceStatus.UNREACHABLE,
                        f"unreachable ({exc.strerror or type(exc).__name__})",
                    )
                else:
                    if fallback:
                        result.counter32[table.column("device")[0].as_py()] = fallback
                    return table
                result.failures.append(failure)
                log.info("metrics.snmp.failed", device=failure.device, status=failure.status.value)
                return None

        tables = [t for t in await asyncio.gather(*(one(t) for t in targets)) if t is not None]
        if tables:
            result.samples = pa.concat_tables([result.samples, *tables])
        result.read_spread_s = spreads
        for device, count in result.counter32.items():
            log.info("metrics.snmp.counter32", device=device, interfaces=count)
        return result

    async def _poll_device(self, target: Target, spreads: dict[str, float]) -> tuple[pa.Table, int]:
        walker = Walker(
            target.address,
            target.port or DEFAULT_SNMP_PORT,
            auth_data(target.credentials, self.environ),
            self.timeout,
            self.retries,
            engine=self._engine,
        )
        describe = await _walk(walker, _DESCRIBE)
        # every counter column in flight at once; the sample is stamped with the middle of
        # the moments they were read, give or take half of ``spread`` (kept in the result)
        started = time.time()
        counters = await _walk(walker, _COUNTERS)
        finished = time.time()
        ts = datetime.fromtimestamp((started + finished) / 2, tz=UTC)
        spreads[target.label] = finished - started
        name = target.name or _text(next(iter(describe.get("sysName", {}).values()), None))
        return samples_from_tables(name or target.address, {**describe, **counters}, ts)


async def _walk(walker: Walker, names: Sequence[str]) -> dict[str, Table]:
    # the walker opens its transport on first use: open it before walking side by side
    first, *rest = names
    tables = {first: await walker.walk(COUNTER_OIDS[first])}
    walked = await asyncio.gather(*(walker.walk(COUNTER_OIDS[name]) for name in rest))
    tables.update(zip(rest, walked, strict=True))
    return tables
