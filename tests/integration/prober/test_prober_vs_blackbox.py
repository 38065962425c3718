"""The prober against Debian's prometheus-blackbox-exporter, both probing the same targets in
a network namespace made here (HTTP, DNS, TCP, ICMP; ``tc netem`` delay where the kernel has
netem, servers that take their time before answering everywhere; an nftables rule dropping a
port, and one dropping everything): they must agree on success, and on latency within a
tolerance."""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from meshq_prober.checks import Outcome, Prober
from meshq_prober.definitions import Limits, parse_probe
from netns_lab import (
    APP_NAME,
    DNS_DELAY_MS,
    DROPPED_PORT,
    HTTP_DELAY_MS,
    HTTP_PORT,
    HTTPS_PORT,
    Blackbox,
    Lab,
    blackbox,
    lab,
    unavailable,
)

WHY = unavailable()
pytestmark = [
    pytest.mark.skipif(WHY is not None, reason=WHY or ""),
    pytest.mark.skipif(
        shutil.which("prometheus-blackbox-exporter") is None,
        reason="prometheus-blackbox-exporter is not installed (Debian package)",
    ),
]

DELAY_MS = 40.0
#: Runs per side; the medians are compared.
RUNS = 5


def tolerance(reference_ms: float) -> float:
    """Two probers on a shared, busy machine: 15 ms plus a quarter of the reference."""
    return 15.0 + 0.25 * reference_ms


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab(tmp_path_factory.mktemp("netns")) as made:
        # without netem the round trip is the veth's (well under a millisecond)
        made.delay_ms = DELAY_MS if made.netem(f"delay {DELAY_MS:g}ms") is None else 0.0
        yield made


@pytest.fixture(scope="module")
def bbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Blackbox]:
    with blackbox(tmp_path_factory.mktemp("blackbox")) as exporter:
        yield exporter


@pytest.fixture
async def prober() -> Any:
    made = Prober(max_response_bytes=65_536)
    yield made
    await made.aclose()


async def ours(prober: Prober, definition: dict[str, Any]) -> list[Outcome]:
    spec = parse_probe({"name": "p", **definition}, Limits(min_interval_s=0.1))
    return [await prober.run(spec) for _ in range(RUNS)]


def theirs(bbx: Blackbox, module: str, target: str) -> list[dict[str, float]]:
    return [bbx.probe(module, target) for _ in range(RUNS)]


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1.0


def agree(label: str, mine_ms: float, reference_ms: float) -> None:
    assert abs(mine_ms - reference_ms) <= tolerance(reference_ms), (
        f"{label}: ours {mine_ms:.1f} ms, blackbox_exporter {reference_ms:.1f} ms"
    )


async def test_http_phases_match(net: Lab, bbx: Blackbox, prober: Prober) -> None:
    url = f"http://{net.target}:{HTTP_PORT}/health"
    mine = await ours(prober, {"kind": "http", "url": url, "body_regex": '"status": "ok"'})
    ref = theirs(bbx, "http_body", url)
    assert all(o.success for o in mine), [o.error for o in mine]
    assert all(m["probe_success"] == 1.0 for m in ref)
    assert {o.status_code for o in mine} == {200}
    assert {m["probe_http_status_code"] for m in ref} == {200.0}
    # the netem delay is on the target's egress: one delay per round trip
    connect = median_ms([o.phases["connect"] for o in mine])
    agree(
        "connect",
        connect,
        median_ms([m['probe_http_duration_seconds{phase="connect"}'] * 1000 for m in ref]),
    )
    assert connect >= net.delay_ms * 0.9
    first_byte = median_ms([o.phases["first_byte"] for o in mine])
    assert first_byte >= HTTP_DELAY_MS * 0.9
    agree(
        "first byte",
        first_byte,
        median_ms([m['probe_http_duration_seconds{phase="processing"}'] * 1000 for m in ref]),
    )
    agree(
        "total",
        median_ms([o.phases["total"] for o in mine]),
        median_ms([m["probe_duration_seconds"] * 1000 for m in ref]),
    )


async def test_https_tls_phase_matches(net: Lab, bbx: Blackbox, prober: Prober) -> None:
    url = f"https://{net.target}:{HTTPS_PORT}/health"
    mine = await ours(prober, {"kind": "http", "url": url, "tls_verify": False})
    ref = theirs(bbx, "https_insecure", url)
    assert all(o.success for o in mine), [o.error for o in mine]
    assert all(m["probe_success"] == 1.0 for m in ref)
    assert all(m["probe_http_ssl"] == 1.0 for m in ref)
    agree(
        "tls",
        median_ms([o.phases["tls"] for o in mine]),
        median_ms([m['probe_http_duration_seconds{phase="tls"}'] * 1000 for m in ref]),
    )
    agree(
        "total",
        median_ms([o.phases["total"] for o in mine]),
        median_ms([m["probe_duration_seconds"] * 1000 for m in ref]),
    )


async def test_https_untrusted_certificate_fails_both(
    net: Lab, bbx: Blackbox, prober: Prober
) -> None:
    url = f"https://{net.target}:{HTTPS_PORT}/health"
    (mine,) = (await ours(prober, {"kind": "http", "url": url}))[:1]
    ref = bbx.probe("http_2xx", url)
    assert not mine.success
    assert mine.error is not None and "CERTIFICATE_VERIFY_FAILED" in mine.error
    assert ref["probe_success"] == 0.0


async def test_http_body_mismatch_fails_both(net: Lab, bbx: Blackbox, prober: Prober) -> None:
    url = f"http://{net.target}:{HTTP_PORT}/index.html"
    mine = await ours(prober, {"kind": "http", "url": url, "body_regex": '"status": "ok"'})
    ref = theirs(bbx, "http_body", url)
    assert not any(o.success for o in mine)
    assert {o.error for o in mine} == {"body does not match body_regex"}
    assert all(m["probe_success"] == 0.0 for m in ref)


async def test_http_status_404_fails_both(net: Lab, bbx: Blackbox, prober: Prober) -> None:
    url = f"http://{net.target}:{HTTP_PORT}/missing"
    mine = await ours(prober, {"kind": "http", "url": url, "expected_status": [200]})
    ref = theirs(bbx, "http_2xx", url)
    assert {(o.success, o.status_code) for o in mine} == {(False, 404)}
    assert {(m["probe_success"], m["probe_http_status_code"]) for m in ref} == {(0.0, 404.0)}


async def test_tcp_connect_matches(net: Lab, bbx: Blackbox, prober: Prober) -> None:
    mine = await ours(prober, {"kind": "tcp", "host": net.target, "port": HTTP_PORT})
    ref = theirs(bbx, "tcp_connect", f"{net.target}:{HTTP_PORT}")
    assert all(o.success for o in mine), [o.error for o in mine]
    assert all(m["probe_success"] == 1.0 for m in ref)
    assert {o.detail["local_address"] for o in mine} == {net.local}
    agree(
        "tcp connect",
        median_ms([o.phases["connect"] for o in mine]),
        median_ms([m["probe_duration_seconds"] * 1000 for m in ref]),
    )


async def test_dropped_port_fails_both(net: Lab, bbx: Blackbox, prober: Prober) -> None:
    # a listener runs on the port: only the nftables rule stops the handshake
    definition = {"kind": "tcp", "host": net.target, "port": DROPPED_PORT, "timeout_s": 1.0}
    spec = parse_probe({"name": "p", **definition}, Limits(min_interval_s=0.1))
    mine = await prober.run(spec)
    ref = bbx.probe("tcp_connect", f"{net.target}:{DROPPED_PORT}")
    assert not mine.success
    assert mine.error == "timeout after 1 s"
    assert ref["probe_success"] == 0.0


async def test_dns_query_matches(net: Lab, bbx: Blackbox, prober: Prober) -> None:
    mine = await ours(
        prober,
        {"kind": "dns", "server": net.target, "query_name": APP_NAME, "answer_regex": net.target},
    )
    ref = theirs(bbx, "dns_a", net.target)
    assert all(o.success for o in mine), [o.error for o in mine]
    assert all(m["probe_success"] == 1.0 for m in ref)
    assert mine[0].detail["answers"] == [net.target]
    query = median_ms([o.phases["query"] for o in mine])
    assert query >= DNS_DELAY_MS * 0.9
    agree(
        "dns query",
        query,
        median_ms([m["probe_duration_seconds"] * 1000 for m in ref]),
    )


async def test_dns_nxdomain_fails_unless_valid(net: Lab, prober: Prober) -> None:
    base = {"kind": "dns", "server": net.target, "query_name": "nothing.lab.test"}
    refused = (await ours(prober, base))[0]
    assert (refused.success, refused.error) == (False, "rcode NXDOMAIN")
    accepted = (await ours(prober, {**base, "valid_rcodes": ["NXDOMAIN"]}))[0]
    assert accepted.success


async def test_icmp_matches(net: Lab, bbx: Blackbox, prober: Prober) -> None:
    mine = await ours(prober, {"kind": "icmp", "host": net.target})
    ref = theirs(bbx, "icmp", net.target)
    assert all(o.success for o in mine), [o.error for o in mine]
    assert all(m["probe_success"] == 1.0 for m in ref)
    assert mine[0].detail["icmp_socket"] == prober.icmp
    agree(
        "icmp rtt",
        median_ms([o.phases["rtt"] for o in mine]),
        median_ms([m['probe_icmp_duration_seconds{phase="rtt"}'] * 1000 for m in ref]),
    )


async def test_total_loss_fails_both(tmp_path: Path, bbx: Blackbox, prober: Prober) -> None:
    with lab(tmp_path) as lossy:
        lossy.drop_everything()
        spec = parse_probe(
            {"name": "p", "kind": "icmp", "host": lossy.target, "timeout_s": 1.0},
            Limits(min_interval_s=0.1),
        )
        mine = await prober.run(spec)
        ref = bbx.probe("icmp", lossy.target)
        tcp = parse_probe(
            {"name": "t", "kind": "tcp", "host": lossy.target, "port": HTTP_PORT, "timeout_s": 1},
            Limits(min_interval_s=0.1),
        )
        mine_tcp = await prober.run(tcp)
        ref_tcp = bbx.probe("tcp_connect", f"{lossy.target}:{HTTP_PORT}")
    assert not mine.success and ref["probe_success"] == 0.0
    assert not mine_tcp.success and ref_tcp["probe_success"] == 0.0
