"""Debian's Prometheus scraping Debian's snmp_exporter against the snmpsim agent: the rates
read back through the HTTP API equal the rates of our own SNMP poller on the same agent,
within 1 %, through the agent's 32-bit and 64-bit wraps."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx
import pyarrow as pa
import pytest
from meshq_runtime.embedded import free_port
from network_discovery.discovery import Credentials, SecretRef, Target
from network_discovery.metrics import FLAG_RESET, FLAG_WRAPPED, compute_rates
from network_discovery.metrics.prometheus import PrometheusError, PrometheusReader
from network_discovery.metrics.snmp import SnmpCounterPoller
from support import prometheus_lab
from support.metrics_lab import ADDRESS, COMMUNITY, Agent

pytestmark = pytest.mark.skipif(
    prometheus_lab.tools() is None,
    reason="Debian's prometheus and prometheus-snmp-exporter are not installed "
    "(apt-get install prometheus prometheus-snmp-exporter)",
)
POLLS = 30
COLUMNS = ("in_bps", "out_bps", "in_pps", "out_pps", "in_errors_ps", "in_discards_ps")


def _means(rates: pa.Table) -> dict[tuple[str, str], float]:
    """Each interface's time-weighted mean of each rate."""
    sums: dict[tuple[str, str], list[float]] = {}
    for row in rates.to_pylist():
        assert not row["flags"] & FLAG_RESET, row
        for column in COLUMNS:
            if row[column] is not None:
                acc = sums.setdefault((row["interface"], column), [0.0, 0.0])
                acc[0] += row[column] * row["interval_s"]
                acc[1] += row["interval_s"]
    return {key: total / weight for key, (total, weight) in sums.items()}


def _wrapped(rates: pa.Table) -> set[str]:
    return {r["interface"] for r in rates.to_pylist() if r["flags"] & FLAG_WRAPPED}


def test_prometheus_rates_equal_the_pollers(counters_agent: Agent, tmp_path) -> None:
    with prometheus_lab.serve(
        tmp_path,
        agent=f"{ADDRESS}:{counters_agent.port}",
        community=COMMUNITY,
        device="edge1",
        exporter_port=free_port(),
        port=free_port(),
    ) as url:
        target = Target(
            address=ADDRESS,
            port=counters_agent.port,
            transport="snmp",
            credentials=Credentials(name="lab", snmp_community=SecretRef(env="C")),
        )
        ours = []
        # start the counters again: their wraps (12 s and 16 s on) fall inside the window
        counters_agent.restart()
        start = datetime.now(UTC)
        with SnmpCounterPoller(timeout=2.0, environ={"C": COMMUNITY}) as poller:
            # both wraps of the agent fall inside; a window this long keeps the scheduling
            # delays of a loaded machine (when a scrape starts vs when the agent reads its
            # counter) well under 1 % of the mean rate
            for _ in range(POLLS):
                result = asyncio.run(poller.poll([target]))
                assert result.failures == []
                ours.append(result.samples)
                time.sleep(1.0)
            end = datetime.now(UTC)
        # wait for a scrape after the window closed
        deadline = time.monotonic() + 30
        while True:
            answer = httpx.get(
                f"{url}/api/v1/query", params={"query": "max(timestamp(sysUpTime))"}
            ).json()["data"]["result"]
            if answer and float(answer[0]["value"][1]) > end.timestamp():
                break
            assert time.monotonic() < deadline, "Prometheus scraped nothing"
            time.sleep(0.5)

        reader = PrometheusReader(url, device_label="device", match={"job": "snmp"})
        theirs = asyncio.run(reader.samples(start, end, step=0.5))
        with pytest.raises(ValueError, match="label name"):
            asyncio.run(
                PrometheusReader(url, match={'job"} or vector(1) #': "x"}).samples(
                    start, end, step=0.5
                )
            )
        with pytest.raises(PrometheusError, match="unreachable"):
            asyncio.run(PrometheusReader("http://127.0.0.1:9").samples(start, end, step=1))

    assert set(theirs.column("device").to_pylist()) == {"edge1"}
    assert set(theirs.column("interface").to_pylist()) == {"Ethernet1", "Ethernet2", "Ethernet3"}
    bits = {r["interface"]: r["octets_bits"] for r in theirs.to_pylist()}
    assert bits == {"Ethernet1": 53, "Ethernet2": 32, "Ethernet3": 32}
    assert theirs.num_rows >= 3 * POLLS  # about one scrape a second
    mine_rates, prom_rates = compute_rates(pa.concat_tables(ours)), compute_rates(theirs)
    assert _wrapped(mine_rates) == _wrapped(prom_rates) == {"Ethernet1", "Ethernet2"}
    mine, prom = _means(mine_rates), _means(prom_rates)
    assert mine.keys() == prom.keys()
    for key, value in mine.items():
        assert prom[key] == pytest.approx(value, rel=0.01, abs=1e-9), key
