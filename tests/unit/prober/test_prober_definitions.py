"""Probe definitions: the YAML file, the kinds' fields, the service's bounds; settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from meshq_prober.checks import icmp_mode
from meshq_prober.definitions import (
    DnsProbe,
    HttpProbe,
    Limits,
    ProbeDefinitionError,
    TcpProbe,
    load_probes,
    load_probes_file,
    parse_probe,
)
from meshq_prober.settings import Settings, parse_duration
from pydantic import ValidationError

LIMITS = Limits(max_probes=3, min_interval_s=5, max_timeout_s=10)

FILE = """
probes:
  - name: web
    kind: http
    url: https://shop.example.net/health
    expected_status: [200, 204]
    body_regex: '"status": *"ok"'
    interval_s: 30
    timeout_s: 5
    source: edge-fw1:eth0
  - {name: db, kind: tcp, host: 2001:db8::5, port: 5432}
  - {name: resolver, kind: dns, server: 10.0.0.53, query_name: example.net, query_type: AAAA}
"""


def test_file_kinds_and_defaults() -> None:
    web, db, resolver = load_probes(FILE, LIMITS)
    assert isinstance(web, HttpProbe)
    assert (web.port(), web.hostname(), web.source) == (443, "shop.example.net", "edge-fw1:eth0")
    assert isinstance(db, TcpProbe)
    assert db.target() == "[2001:db8::5]:5432"
    assert (db.interval_s, db.timeout_s) == (60.0, 5.0)
    assert isinstance(resolver, DnsProbe)
    assert (resolver.port, resolver.transport, resolver.valid_rcodes) == (53, "udp", ["NOERROR"])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": "a", "kind": "icmp", "host": "h", "interval_s": 1}, "interval_s: at least 5"),
        ({"name": "a", "kind": "icmp", "host": "h", "timeout_s": 11}, "timeout_s: at most 10"),
        (
            {"name": "a", "kind": "icmp", "host": "h", "interval_s": 6, "timeout_s": 7},
            "longer than interval_s",
        ),
        ({"name": "a", "kind": "smtp", "host": "h"}, "kind"),
        ({"name": "a", "kind": "tcp", "host": "h"}, "port: Field required"),
        ({"name": "a", "kind": "http", "url": "ftp://h/x"}, "http:// or https://"),
        ({"name": "a", "kind": "http", "url": "https://u:p@h/"}, "credentials"),
        ({"name": "a", "kind": "http", "url": "http://h/", "body_regex": "("}, "not a regular"),
        ({"name": "a", "kind": "icmp", "host": "h; rm -rf /"}, "host"),
        ({"name": "../x", "kind": "icmp", "host": "h"}, "name"),
        ({"name": "a", "kind": "icmp", "host": "h", "extra": 1}, "extra"),
    ],
    ids=[
        "short-interval",
        "long-timeout",
        "timeout-over-interval",
        "unknown-kind",
        "tcp-without-port",
        "ftp-url",
        "credentials-in-url",
        "bad-regex",
        "shell-in-host",
        "bad-name",
        "unknown-field",
    ],
)
def test_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ProbeDefinitionError, match=message.replace("(", r"\(")):
        parse_probe(raw, LIMITS)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ProbeDefinitionError, match="more than the 3 allowed"):
        load_probes(
            "probes:\n" + "".join(f"  - {{name: p{n}, kind: icmp, host: h}}\n" for n in range(4)),
            LIMITS,
        )
    with pytest.raises(ProbeDefinitionError, match="defined twice"):
        load_probes(
            "probes: [{name: p, kind: icmp, host: h}, {name: p, kind: icmp, host: i}]", LIMITS
        )
    with pytest.raises(ProbeDefinitionError, match="'probes' list"):
        load_probes("- a\n", LIMITS)
    assert load_probes("", LIMITS) == []
    with pytest.raises(ProbeDefinitionError, match="MESHQ_PROBES_FILE"):
        load_probes_file(tmp_path / "absent.yaml", LIMITS)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 1_048_577)
    with pytest.raises(ProbeDefinitionError, match="larger than"):
        load_probes_file(big, LIMITS)


def test_icmp_mode_reads_ping_group_range(tmp_path: Path) -> None:
    import os

    allowed = tmp_path / "range"
    allowed.write_text("0\t2147483647\n")
    assert icmp_mode(allowed) == "unprivileged"
    closed = tmp_path / "closed"
    closed.write_text("1\t0\n")
    assert icmp_mode(closed) == ("raw" if os.geteuid() == 0 else None)


def test_retention_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [parse_duration(t) for t in ("90", "90m", "24h", "7d", "2w")] == [
        90.0,
        5400.0,
        86_400.0,
        604_800.0,
        1_209_600.0,
    ]
    monkeypatch.setenv("MESHQ_SYNTHETIC_RETENTION", "3d")
    assert Settings().retention_s == 3 * 86_400
    monkeypatch.setenv("MESHQ_SYNTHETIC_RETENTION", "5s")
    with pytest.raises(ValidationError, match="between 1 minute and 400 days"):
        Settings()
    monkeypatch.setenv("MESHQ_SYNTHETIC_RETENTION", "soon")
    with pytest.raises(ValidationError, match="a duration"):
        Settings()
