"""NetFlow / IPFIX lab: write a pcap of known conversations, replay it with Debian's
``softflowd`` to a UDP port, and collect the same export with Debian's ``nfcapd`` and read it
back with ``nfdump`` (the reference collector).

The pcap is written with ``struct`` (Ethernet, IPv4, TCP/UDP with valid checksums), so no
packet library is needed."""

from __future__ import annotations

import csv
import io
import ipaddress
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TOOLS = ("softflowd", "softflowctl", "nfcapd", "nfdump")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


@dataclass(frozen=True)
class Conversation:
    src: str
    dst: str
    proto: int  # 6 TCP, 17 UDP
    sport: int
    dport: int
    packets: int
    payload: int  # payload bytes per packet


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ip_packet(c: Conversation, seq: int, flags: int) -> bytes:
    src = ipaddress.IPv4Address(c.src).packed
    dst = ipaddress.IPv4Address(c.dst).packed
    payload = bytes((seq + i) & 0xFF for i in range(c.payload))
    if c.proto == 6:
        l4 = struct.pack("!HHIIBBHHH", c.sport, c.dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    else:
        l4 = struct.pack("!HHHH", c.sport, c.dport, 8 + len(payload), 0)
    seg = l4 + payload
    pseudo = src + dst + struct.pack("!BBH", 0, c.proto, len(seg))
    ck = _csum(pseudo + seg)
    at = 16 if c.proto == 6 else 6
    seg = seg[:at] + struct.pack("!H", ck) + seg[at + 2 :]
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), seq & 0xFFFF, 0, 64, c.proto, 0, src, dst
    )
    hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
    return hdr + seg


def write_pcap(
    path: Path, conversations: list[Conversation], start: float = 1_700_000_000.0
) -> None:
    """Interleave the conversations' packets 1 ms apart; TCP ones end with FIN."""
    out = io.BytesIO()
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    t = start
    longest = max(c.packets for c in conversations)
    for i in range(longest):
        for c in conversations:
            if i >= c.packets:
                continue
            flags = 0x18 if i < c.packets - 1 else 0x11  # PSH|ACK, last FIN|ACK
            frame = eth + _ip_packet(c, i, flags)
            sec = int(t)
            out.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(frame), len(frame)))
            out.write(frame)
            t += 0.001
    path.write_bytes(out.getvalue())


def ip_bytes(c: Conversation) -> int:
    """Layer-3 bytes of one packet: what NetFlow counts as octets."""
    return 20 + (20 if c.proto == 6 else 8) + c.payload


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ctl(ctl: Path, command: str) -> str:
    if not ctl.exists():
        return ""
    res = subprocess.run(
        ["softflowctl", "-c", str(ctl), command], capture_output=True, text=True, timeout=20
    )
    return res.stdout


def replay(pcap: Path, version: str, port: int, workdir: Path, sampling: int = 0) -> None:
    """``softflowd -r`` reads the file, expires every flow at its end, exports them and exits.

    softflowd 1.1 waits for a connection on its control socket before it reads the file and
    stays up after its end: ``softflowctl statistics`` starts it and tells when every packet is
    processed, ``shutdown`` then ends it."""
    ctl = workdir / f"softflowd-{version}-{port}.ctl"
    cmd = ["softflowd", "-r", str(pcap), "-v", version, "-n", f"127.0.0.1:{port}"]
    cmd += ["-p", str(workdir / f"softflowd-{version}-{port}.pid"), "-c", str(ctl), "-d"]
    if sampling:
        cmd += ["-s", str(sampling)]
    total = pcap_packets(pcap)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            m = re.search(r"Packets processed: (\d+)", _ctl(ctl, "statistics"))
            if m and int(m.group(1)) >= total:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            _ctl(ctl, "shutdown")
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def pcap_packets(pcap: Path) -> int:
    data = pcap.read_bytes()
    pos, n = 24, 0
    while pos + 16 <= len(data):
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
        n += 1
    return n


def capture_export(pcap: Path, version: str, workdir: Path, quiet_s: float = 0.5) -> list[bytes]:
    """The datagrams softflowd sends for ``pcap``, as received on a local UDP socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    port = sock.getsockname()[1]
    try:
        replay(pcap, version, port, workdir)
        sock.settimeout(quiet_s)
        out: list[bytes] = []
        while True:
            try:
                out.append(sock.recv(65535))
            except TimeoutError:
                return out
    finally:
        sock.close()


@dataclass
class NfdumpRow:
    key: tuple[str, str, int, int, int]
    packets: int
    bytes: int


def nfdump_reference(pcap: Path, version: str, workdir: Path, sampling: int = 0) -> list[NfdumpRow]:
    """Replay ``pcap`` to ``nfcapd`` and read every flow back with ``nfdump -o csv``."""
    flowdir = workdir / f"nfcapd-{version}"
    flowdir.mkdir(parents=True, exist_ok=True)
    port = free_udp_port()
    proc = subprocess.Popen(
        ["nfcapd", "-w", str(flowdir), "-p", str(port), "-b", "127.0.0.1", "-t", "3600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        replay(pcap, version, port, workdir, sampling)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    files = sorted(p for p in flowdir.rglob("nfcapd.*") if p.is_file())
    if not files:
        raise RuntimeError(f"nfcapd wrote no file in {flowdir}")
    rows: list[NfdumpRow] = []
    for f in files:
        res = subprocess.run(
            ["nfdump", "-r", str(f), "-q", "-o", "csv", "-N"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "TZ": "UTC"},
        )
        rows.extend(_parse_csv(res.stdout))
    return rows


def _parse_csv(text: str) -> list[NfdumpRow]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    reader = csv.reader(lines)
    header = next(reader)
    idx = {name: i for i, name in enumerate(header)}
    if "sa" not in idx:  # -q drops the header on some versions: the 1.7 csv column order
        idx = {n: i for i, n in enumerate(["ts", "te", "td", "sa", "da", "sp", "dp", "pr", "flg"])}
        idx.update({"ipkt": 11, "ibyt": 12})
        reader = csv.reader(lines)
    rows = []
    for r in reader:
        if len(r) < 13 or r[0].startswith("Summary"):
            continue
        try:
            proto = r[idx["pr"]].strip()
            pnum = {"TCP": 6, "UDP": 17, "ICMP": 1}.get(proto, None)
            pnum = int(proto) if pnum is None else pnum
            rows.append(
                NfdumpRow(
                    key=(
                        r[idx["sa"]].strip(),
                        r[idx["da"]].strip(),
                        pnum,
                        int(float(r[idx["sp"]])),
                        int(float(r[idx["dp"]])),
                    ),
                    packets=int(float(r[idx["ipkt"]])),
                    bytes=int(float(r[idx["ibyt"]])),
                )
            )
        except (ValueError, KeyError):
            continue
    return rows
