"""``meshq serve`` runs the flow collector as one of its supervised children: NetFlow v5
datagrams sent to its UDP port reach graph-engine's flow store through the embedded broker and
come back from the gateway's Flows queries, byte for byte; the collector shows in the
supervisor's /ready, comes back on the same UDP port after a SIGKILL and goes on, and stops
with the stack on Ctrl-C. A UDP port that is set and taken is refused before anything starts."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e.serve_support import (
    ServeRun,
    clean_env,
    kill_child,
    refused_at_start,
    serving,
    stop_with_sigint,
)
from support.procs import wait_for

pytestmark = pytest.mark.e2e

CHILD = "flow_collector"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _v5(flows: list[tuple[str, str, int, int, int, int]], sequence: int) -> bytes:
    """A NetFlow v5 export datagram: (src, dst, src port, dst port, packets, octets) as TCP."""
    now = int(time.time())
    header = struct.pack("!HHIIIIBBH", 5, len(flows), 60_000, now, 0, sequence, 0, 0, 0)
    records = b"".join(
        socket.inet_aton(src)
        + socket.inet_aton(dst)
        + bytes(4)
        + struct.pack(
            "!HHIIIIHHBBBBHHBBH",
            1,
            2,
            pkts,
            octets,
            59_000,
            59_900,
            sp,
            dp,
            0,
            0x18,
            6,
            0,
            0,
            0,
            24,
            24,
            0,
        )
        for src, dst, sp, dp, pkts, octets in flows
    )
    return header + records


@pytest.fixture(scope="module")
def udp_port() -> int:
    return _free_udp_port()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, udp_port: int) -> Iterator[ServeRun]:
    root = tmp_path_factory.mktemp("serve-flows")
    env = clean_env(
        MESHQ_FLOWS_NETFLOW_PORT=str(udp_port),
        MESHQ_FLOWS_IPFIX_PORT="0",
        MESHQ_FLOWS_SFLOW_PORT="0",
        MESHQ_FLOWS_FLUSH_S="0.2",
        MESHOPTIXIQ_DEMO_MODE="true",  # the Flows queries are an Enterprise feature
        MESHQ_SERVE_TIMEOUT="300",  # graph-engine opens the flow store (chdb) as it starts
    )
    with serving(root, env) as serve_run:
        yield serve_run


@pytest.fixture(scope="module")
def endpoints(run: ServeRun) -> dict[str, Any]:
    return run.wait_up(timeout=420)


def _send(port: int, flows: list[tuple[str, str, int, int, int, int]], sequence: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(_v5(flows, sequence), ("127.0.0.1", port))


def _conversations(endpoints: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    r = httpx.post(
        f"{endpoints['gateway']}/queries/meshq_flows_conversations",
        json={"window": "15m"},
        headers={"X-API-Key": endpoints["api_key"]},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return {(c["a"], c["b"]): (c["bytes_a_to_b"], c["bytes_b_to_a"]) for c in r.json()["rows"]}


def _wait_pair(endpoints: dict[str, Any], pair: tuple[str, str]) -> tuple[int, int]:
    return wait_for(
        lambda: _conversations(endpoints).get(pair),
        timeout=90,
        interval=0.5,
        what=f"the conversation {pair} from the gateway",
    )


def test_datagrams_reach_the_flows_queries(endpoints: dict[str, Any], udp_port: int) -> None:
    ready = httpx.get(f"{endpoints['supervisor']}/ready", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.json()["children"][CHILD]["state"] == "up"
    status = httpx.get(f"{endpoints[CHILD]}/flows/status", timeout=5).json()
    assert str(udp_port) in str(status)
    _send(
        udp_port,
        [
            ("10.1.0.1", "10.2.0.2", 40000, 443, 10, 1500),
            ("10.2.0.2", "10.1.0.1", 443, 40000, 8, 9000),
        ],
        sequence=0,
    )
    assert _wait_pair(endpoints, ("10.1.0.1", "10.2.0.2")) == (1500, 9000)


def test_a_killed_collector_comes_back_on_its_port(
    endpoints: dict[str, Any], run: ServeRun, udp_port: int
) -> None:
    recovery = kill_child(run, endpoints, CHILD, timeout=60)
    assert recovery.back["state"] == "up"
    _send(udp_port, [("10.3.0.3", "10.4.0.4", 41000, 22, 3, 180)], sequence=0)
    assert _wait_pair(endpoints, ("10.3.0.3", "10.4.0.4")) == (180, 0)


def test_sigint_stops_the_collector_with_the_stack(run: ServeRun) -> None:
    stop_with_sigint(run)


def test_a_taken_udp_port_that_is_set_is_refused_at_start(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        stderr = refused_at_start(tmp_path, clean_env(MESHQ_FLOWS_NETFLOW_PORT=str(port)))
    assert f"UDP port {port} (NetFlow)" in stderr and "MESHQ_FLOWS_NETFLOW_PORT" in stderr
