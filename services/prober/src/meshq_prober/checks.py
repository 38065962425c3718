"""Running one probe once: ICMP echo, TCP connect, HTTP(S) with phase timings, DNS query.

Every run answers a :class:`Outcome`, never raises: success, the phases it measured (in
milliseconds, each the time of that phase alone: ``dns``, ``connect``, ``tls``,
``first_byte`` — request sent to first response byte — and ``total``), the HTTP status or DNS
rcode, and the error that failed it. The address the name resolved to and the local address
used are kept for the path of a failure.

ICMP uses an unprivileged ICMP socket (``SOCK_DGRAM``) when ``net.ipv4.ping_group_range``
holds this process's group, else a raw socket, which needs root or ``CAP_NET_RAW``;
:func:`icmp_mode` says which, and the outcome records it (``detail.icmp_socket``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import httpx
from icmplib import async_ping
from icmplib.exceptions import ICMPLibError

from meshq_prober.definitions import DnsProbe, HttpProbe, IcmpProbe, TcpProbe

__all__ = ["Outcome", "Prober", "icmp_mode"]

PING_GROUP_RANGE = Path("/proc/sys/net/ipv4/ping_group_range")
#: The most bytes of an error message kept.
MAX_ERROR = 500


@dataclass
class Outcome:
    success: bool
    phases: dict[str, float] = field(default_factory=dict)
    status_code: int | None = None
    error: str | None = None
    #: The target's address (after DNS), the local address, the ICMP socket kind, the rcode.
    detail: dict[str, Any] = field(default_factory=dict)

    def fail(self, error: str) -> Outcome:
        self.success = False
        self.error = error[:MAX_ERROR]
        return self


def icmp_mode(range_file: Path = PING_GROUP_RANGE) -> str | None:
    """``unprivileged`` when this process may open ICMP datagram sockets, ``raw`` when it
    may open raw ones (root), else None."""
    try:
        low, high = (int(x) for x in range_file.read_text().split()[:2])
    except (OSError, ValueError):
        low, high = 1, 0
    groups = {os.getegid(), *os.getgroups()}
    if any(low <= g <= high for g in groups):
        return "unprivileged"
    if os.geteuid() == 0:
        return "raw"
    return None


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000.0, 3)


async def _resolve(host: str, port: int, out: Outcome) -> str:
    """The first address of ``host`` (an address stays itself); times ``dns``."""
    try:
        ipaddress.ip_address(host)
        out.phases["dns"] = 0.0
        out.detail["address"] = host
        return host
    except ValueError:
        pass
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out.phases["dns"] = _ms(started, time.perf_counter())
    address = str(infos[0][4][0])
    out.detail["address"] = address
    return address


def _error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR]


class Prober:
    """Runs probes. ``max_response_bytes``: the most of an HTTP body read (the rest is not)."""

    def __init__(self, *, max_response_bytes: int = 1_048_576) -> None:
        self.max_response_bytes = max_response_bytes
        self.icmp = icmp_mode()
        # no kept-alive connections: every run measures its own connect and TLS handshake
        limits = httpx.Limits(max_keepalive_connections=0, max_connections=100)
        self._http = {
            verify: httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(verify=verify, limits=limits, retries=0),
                follow_redirects=False,
                trust_env=False,
            )
            for verify in (True, False)
        }

    async def aclose(self) -> None:
        for client in self._http.values():
            await client.aclose()

    async def run(self, spec: IcmpProbe | TcpProbe | HttpProbe | DnsProbe) -> Outcome:
        out = Outcome(success=False)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(spec.timeout_s):
                if isinstance(spec, IcmpProbe):
                    await self._icmp(spec, out)
                elif isinstance(spec, TcpProbe):
                    await self._tcp(spec, out)
                elif isinstance(spec, HttpProbe):
                    await self._http_run(spec, out)
                else:
                    await self._dns(spec, out)
        except TimeoutError:
            out.fail(f"timeout after {spec.timeout_s:g} s")
        except (OSError, httpx.HTTPError, dns.exception.DNSException, ICMPLibError) as exc:
            out.fail(_error(exc))
        out.phases["total"] = _ms(started, time.perf_counter())
        return out

    async def _icmp(self, spec: IcmpProbe, out: Outcome) -> None:
        address = await _resolve(spec.host, 0, out)
        if self.icmp is None:
            out.fail(
                "ICMP unavailable: net.ipv4.ping_group_range excludes this process's groups "
                "and it is not root"
            )
            return
        out.detail["icmp_socket"] = self.icmp
        # one echo request, waited on for what is left of the timeout
        host = await async_ping(
            address,
            count=1,
            timeout=spec.timeout_s,
            privileged=self.icmp == "raw",
        )
        if host.is_alive:
            out.phases["rtt"] = round(host.avg_rtt, 3)
            out.success = True
        else:
            out.fail(f"no echo reply from {address}")

    async def _tcp(self, spec: TcpProbe, out: Outcome) -> None:
        address = await _resolve(spec.host, spec.port, out)
        started = time.perf_counter()
        _, writer = await asyncio.open_connection(address, spec.port)
        out.phases["connect"] = _ms(started, time.perf_counter())
        out.detail["local_address"] = writer.get_extra_info("sockname")[0]
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        out.success = True

    async def _http_run(self, spec: HttpProbe, out: Outcome) -> None:
        parts = urlsplit(spec.url)
        host = parts.hostname or ""
        address = await _resolve(host, spec.port(), out)
        literal = f"[{address}]" if ":" in address else address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        marks: dict[str, float] = {}

        async def trace(event: str, info: dict[str, Any]) -> None:
            marks[event] = time.perf_counter()
            if event == "connection.connect_tcp.complete":
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if sock is not None:
                    out.detail["local_address"] = sock.getsockname()[0]

        headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "meshq-prober/1"}
        extensions: dict[str, Any] = {"trace": trace}
        if parts.scheme == "https":
            extensions["sni_hostname"] = host
        client = self._http[spec.tls_verify]
        request = client.build_request(spec.method, url, headers=headers, extensions=extensions)
        response = await client.send(request, stream=True)
        try:
            first = time.perf_counter()
            body = bytearray()
            if spec.body_regex is not None:
                async for chunk in response.aiter_raw():
                    body.extend(chunk[: self.max_response_bytes - len(body)])
                    if len(body) >= self.max_response_bytes:
                        out.detail["body_truncated"] = True
                        break
        finally:
            await response.aclose()
        self._http_phases(marks, first, out)
        out.status_code = response.status_code
        expected = spec.expected_status
        ok = response.status_code in expected if expected else 200 <= response.status_code < 300
        if not ok:
            out.fail(f"status {response.status_code}")
            return
        if spec.body_regex is not None:
            text = bytes(body).decode(response.encoding or "utf-8", errors="replace")
            if re.search(spec.body_regex, text) is None:
                out.fail("body does not match body_regex")
                return
        out.success = True

    @staticmethod
    def _http_phases(marks: dict[str, float], first: float, out: Outcome) -> None:
        tcp0 = marks.get("connection.connect_tcp.started")
        tcp1 = marks.get("connection.connect_tcp.complete")
        if tcp0 is not None and tcp1 is not None:
            out.phases["connect"] = _ms(tcp0, tcp1)
        tls0 = marks.get("connection.start_tls.started")
        tls1 = marks.get("connection.start_tls.complete")
        if tls0 is not None and tls1 is not None:
            out.phases["tls"] = _ms(tls0, tls1)
        sent = marks.get("http11.send_request_body.complete") or marks.get(
            "http11.send_request_headers.complete"
        )
        got = marks.get("http11.receive_response_headers.complete", first)
        if sent is not None:
            out.phases["first_byte"] = _ms(sent, got)

    async def _dns(self, spec: DnsProbe, out: Outcome) -> None:
        address = await _resolve(spec.server, spec.port, out)
        query = dns.message.make_query(spec.query_name, dns.rdatatype.from_text(spec.query_type))
        started = time.perf_counter()
        if spec.transport == "tcp":
            answer = await dns.asyncquery.tcp(
                query, address, timeout=spec.timeout_s, port=spec.port
            )
        else:
            answer = await dns.asyncquery.udp(
                query, address, timeout=spec.timeout_s, port=spec.port, raise_on_truncation=False
            )
        out.phases["query"] = _ms(started, time.perf_counter())
        rcode = dns.rcode.to_text(answer.rcode())
        out.detail["rcode"] = rcode
        records = [rr.to_text() for rrset in answer.answer for rr in rrset][:32]
        out.detail["answers"] = records
        if rcode not in spec.valid_rcodes:
            out.fail(f"rcode {rcode}")
            return
        if spec.answer_regex is not None and not any(
            re.search(spec.answer_regex, r) for r in records
        ):
            out.fail("no answer record matches answer_regex")
            return
        out.success = True
