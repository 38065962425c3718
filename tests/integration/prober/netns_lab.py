"""A target network namespace made by the test: a veth pair from the root namespace, an HTTP
server, a DNS server (dnspython) and a TCP listener behind an nftables rule that drops its
port, with ``tc netem`` delay on the target's side. Needs root, ``ip``, ``tc`` and ``nft``;
:func:`unavailable` says why not, so that the tests skip.

And Debian's ``prometheus-blackbox-exporter`` in the root namespace, asked to probe the same
targets (``/probe?module=…&target=…``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["Blackbox", "Lab", "blackbox", "lab", "unavailable"]

HTTP_PORT = 8080
HTTPS_PORT = 8443
DROPPED_PORT = 8081
DNS_PORT = 53
APP_NAME = "app.lab.test"

#: What the servers take before they answer, so that there is a latency to compare where the
#: kernel has no netem: the HTTP server before its response, the DNS server before its reply.
HTTP_DELAY_MS = 60
DNS_DELAY_MS = 30

DNS_SERVER = r"""
import socket, sys, time
import dns.message, dns.rcode, dns.rrset
address, answer, delay = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((address, 53))
print("ready", flush=True)
while True:
    data, peer = sock.recvfrom(4096)
    try:
        query = dns.message.from_wire(data)
    except Exception:
        continue
    reply = dns.message.make_response(query)
    q = query.question[0]
    if q.name.to_text() == "app.lab.test." and q.rdtype == 1:
        reply.answer.append(dns.rrset.from_text(q.name, 60, "IN", "A", answer))
    else:
        reply.set_rcode(dns.rcode.NXDOMAIN)
    time.sleep(delay)
    sock.sendto(reply.to_wire(), peer)
"""

HTTP_SERVER = r"""
import functools, http.server, ssl, sys, time
address, port, root, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]) / 1000
certificate = sys.argv[5] if len(sys.argv) > 5 else None
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        time.sleep(delay)
        super().do_GET()
    def log_message(self, *args):
        pass
handler = functools.partial(Handler, directory=root)
server = http.server.ThreadingHTTPServer((address, port), handler)
if certificate:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
"""

TCP_LISTENER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
"""


def unavailable() -> str | None:
    """Why the lab cannot be made here (None: it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "tc", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    name = f"mqpchk{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip()[:200]}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def _run(*args: str) -> None:
    done = subprocess.run(list(args), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()[:300]}")


@dataclass
class Lab:
    netns: str
    root_if: str
    target_if: str
    local: str  #: the root namespace's address
    target: str  #: the target namespace's address
    delay_ms: float = 0.0  #: the netem delay in force on the target's side

    def netem(self, spec: str) -> str | None:
        """Set the target side's qdisc (``delay 40ms``); why not, when the kernel has no
        netem (sch_netem) here."""
        done = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.netns,
                "tc",
                "qdisc",
                "replace",
                "dev",
                self.target_if,
                "root",
                "netem",
                *spec.split(),
            ],
            capture_output=True,
            text=True,
        )
        return None if done.returncode == 0 else f"tc netem: {done.stderr.strip()[:200]}"

    def drop_everything(self) -> None:
        """Total loss: the target drops every packet that reaches it (nftables)."""
        _run(
            "ip",
            "netns",
            "exec",
            self.netns,
            "nft",
            "add",
            "rule",
            "inet",
            "mqprobe",
            "input",
            "drop",
        )


def _wait_ready(proc: subprocess.Popen[str], what: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise RuntimeError(f"{what} did not start: {line[:200]}")


@contextlib.contextmanager
def lab(tmp: Path) -> Iterator[Lab]:
    tag = uuid.uuid4().hex[:6]
    octet = int(tag[:2], 16) % 200 + 20
    netns = f"mqp{tag}"
    root_if, target_if = f"mqpr{tag}", f"mqpt{tag}"
    local, target = f"10.231.{octet}.1", f"10.231.{octet}.2"
    procs: list[subprocess.Popen[str]] = []
    _run("ip", "netns", "add", netns)
    try:
        _run("ip", "link", "add", root_if, "type", "veth", "peer", "name", target_if)
        _run("ip", "link", "set", target_if, "netns", netns)
        _run("ip", "addr", "add", f"{local}/24", "dev", root_if)
        _run("ip", "link", "set", root_if, "up")
        inside = ("ip", "netns", "exec", netns)
        _run(*inside, "ip", "addr", "add", f"{target}/24", "dev", target_if)
        _run(*inside, "ip", "link", "set", target_if, "up")
        _run(*inside, "ip", "link", "set", "lo", "up")
        _run(*inside, "nft", "add", "table", "inet", "mqprobe")
        _run(
            *inside,
            "nft",
            "add chain inet mqprobe input { type filter hook input priority 0 ; policy accept ; }",
        )
        _run(
            *inside,
            "nft",
            "add",
            "rule",
            "inet",
            "mqprobe",
            "input",
            "tcp",
            "dport",
            str(DROPPED_PORT),
            "drop",
        )
        site = tmp / "site"
        site.mkdir()
        (site / "health").write_text('{"status": "ok"}\n')
        (site / "index.html").write_text("<html><body>lab</body></html>\n")
        certificate = tmp / "server.pem"
        certificate.write_bytes(self_signed(APP_NAME, target))
        for script, args, what in (
            (HTTP_SERVER, [target, str(HTTP_PORT), str(site), str(HTTP_DELAY_MS)], "HTTP server"),
            (
                HTTP_SERVER,
                [target, str(HTTPS_PORT), str(site), str(HTTP_DELAY_MS), str(certificate)],
                "HTTPS server",
            ),
            (DNS_SERVER, [target, target, str(DNS_DELAY_MS)], "DNS server"),
            (TCP_LISTENER, [target, str(DROPPED_PORT)], "TCP listener"),
        ):
            proc = subprocess.Popen(
                [*inside, sys.executable, "-c", script, *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            procs.append(proc)
            _wait_ready(proc, what)
        _wait_port(target, HTTP_PORT)
        yield Lab(netns, root_if, target_if, local, target)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        subprocess.run(["ip", "link", "del", root_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)


def self_signed(name: str, address: str) -> bytes:
    """A key and a self-signed certificate for ``name`` and ``address`` (PEM, together)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(address))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + cert.public_bytes(serialization.Encoding.PEM)


def _wait_port(host: str, port: int, deadline_s: float = 15.0) -> None:
    end = time.monotonic() + deadline_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


BLACKBOX_CONFIG = f"""
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http: {{preferred_ip_protocol: ip4, valid_status_codes: [200]}}
  http_body:
    prober: http
    timeout: 5s
    http: {{preferred_ip_protocol: ip4, fail_if_body_not_matches_regexp: ['"status": "ok"']}}
  https_insecure:
    prober: http
    timeout: 5s
    http: {{preferred_ip_protocol: ip4, tls_config: {{insecure_skip_verify: true}}}}
  tcp_connect:
    prober: tcp
    timeout: 2s
    tcp: {{preferred_ip_protocol: ip4}}
  icmp:
    prober: icmp
    timeout: 2s
    icmp: {{preferred_ip_protocol: ip4}}
  dns_a:
    prober: dns
    timeout: 2s
    dns:
      query_name: {APP_NAME}
      query_type: A
      transport_protocol: udp
      preferred_ip_protocol: ip4
      valid_rcodes: [NOERROR]
"""


@dataclass
class Blackbox:
    url: str

    def probe(self, module: str, target: str) -> dict[str, float]:
        """The probe's metrics: ``name{labels}`` → value."""
        answer = httpx.get(
            f"{self.url}/probe", params={"module": module, "target": target}, timeout=10.0
        )
        answer.raise_for_status()
        metrics: dict[str, float] = {}
        for line in answer.text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            metrics[name] = float(value)
        return metrics


@contextlib.contextmanager
def blackbox(tmp: Path) -> Iterator[Blackbox]:
    binary = shutil.which("prometheus-blackbox-exporter")
    if binary is None:
        raise FileNotFoundError("prometheus-blackbox-exporter")
    config = tmp / "blackbox.yml"
    config.write_text(BLACKBOX_CONFIG)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port("127.0.0.1", port)
        yield Blackbox(f"http://127.0.0.1:{port}")
    finally:
        proc.kill()
        proc.wait()
