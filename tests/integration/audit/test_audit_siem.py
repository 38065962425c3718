"""SIEM forwarding: a receiver that is down delays records, never loses them."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from support.procs import free_port

pytestmark = pytest.mark.integration


async def _backlog(url: str) -> int | None:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{url}/metrics")).text
    match = re.search(r'^meshq_audit_siem_backlog\{sink="syslog"\} (\d+)$', text, re.M)
    return int(match.group(1)) if match else None


async def _until(predicate, what: str, timeout: float = 60.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_syslog_down_then_up_loses_nothing(audit_env, spawn, feed, audit_event) -> None:
    port = free_port()
    env = {
        **audit_env,
        "MESHQ_AUDIT_SIEM_SYSLOG": f"127.0.0.1:{port}",
        "MESHQ_AUDIT_SIEM_RETRY_MAX_S": "1",
    }
    audit = spawn("meshq_audit", env).wait_healthy()
    await feed(*[audit_event(i) for i in range(1, 4)])
    # Nothing listens yet: the backlog holds every record.
    await _until(_is(audit.url, 3), "backlog of 3")

    frames: list[bytes] = []

    async def on_client(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        while True:
            length = await reader.readuntil(b" ")
            frames.append(await reader.readexactly(int(length)))

    server = await asyncio.start_server(on_client, "127.0.0.1", port)
    try:
        await _until(_is(audit.url, 0), "backlog drained", timeout=90)
        await feed(audit_event(4))
        await _until(_count(frames, 4), "fourth record forwarded")
    finally:
        server.close()
    seqs = [int(re.search(rb' seq="(\d+)"', f).group(1)) for f in frames]
    assert seqs == [1, 2, 3, 4]
    first = frames[0].decode()
    assert first.startswith("<85>1 ")
    assert "[meshq@32473 " in first and 'principal="tester"' in first


def _is(url: str, n: int):
    async def check() -> bool:
        return await _backlog(url) == n

    return check


def _count(frames: list[bytes], n: int):
    async def check() -> bool:
        return len(frames) >= n

    return check


async def test_https_json_sink_retries_until_taken(audit_env, spawn, feed, audit_event) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[dict] = []
    answers = [503, 503]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = answers.pop(0) if answers else 200
            if status == 200:
                assert self.headers["Authorization"] == "Bearer siem-token"
                got.extend(json.loads(body))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {
            **audit_env,
            "MESHQ_AUDIT_SIEM_HTTP_URL": f"http://127.0.0.1:{server.server_address[1]}/siem",
            "MESHQ_AUDIT_SIEM_HTTP_TOKEN": "siem-token",
            "MESHQ_AUDIT_SIEM_RETRY_MAX_S": "1",
        }
        spawn("meshq_audit", env).wait_healthy()
        await feed(*[audit_event(i) for i in range(1, 4)])
        await _until(_count(got, 3), "three records forwarded")  # type: ignore[arg-type]
        assert [r["seq"] for r in got] == [1, 2, 3]
        assert got[0]["event"]["data"]["principal"] == "tester"
    finally:
        server.shutdown()
        server.server_close()


def _self_signed(directory) -> tuple[str, str]:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "siem.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "siem.pem", directory / "siem.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


async def test_syslog_over_tls(audit_env, spawn, feed, audit_event, tmp_path) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    frames: list[bytes] = []

    async def on_client(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        while True:
            length = await reader.readuntil(b" ")
            frames.append(await reader.readexactly(int(length)))

    server = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        env = {
            **audit_env,
            "MESHQ_AUDIT_SIEM_SYSLOG": f"127.0.0.1:{port}",
            "MESHQ_AUDIT_SIEM_SYSLOG_TLS": "true",
            "MESHQ_AUDIT_SIEM_SYSLOG_CA": cert,
            "MESHQ_AUDIT_SIEM_RETRY_MAX_S": "1",
        }
        spawn("meshq_audit", env).wait_healthy()
        await feed(audit_event(1), audit_event(2))
        await _until(_count(frames, 2), "two records over TLS")
        assert [b' seq="1"' in frames[0], b' seq="2"' in frames[1]] == [True, True]
    finally:
        server.close()
