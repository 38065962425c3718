"""The device fingerprint and the vendor's answer-signing public key."""

from __future__ import annotations

import hashlib
import platform
import socket
import uuid

__all__ = ["VENDOR_PUBLIC_KEY_PEM", "fingerprint", "host_facts"]

#: The public half of the vendor's license-signing key (api.meshoptixiq.com). A self-hosted
#: license server has its own pair: point MESHOPTIXIQ_LICENSE_PUBLIC_KEY at its public key.
VENDOR_PUBLIC_KEY_PEM = """\
-----BEGIN PUBLIC KEY-----
MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAn6QF3AvKY+bKxBSyWA1+
49TKcCLdHplQpHO8DEEgYLgRC2Z+X8PGW//fihplU/fWMTtBeJF94BAbxWvbKEyq
nwsu3j7yzWNi+cmlZLXskRb3FoVnsBlz2+9edUV60v3A4IZ4oChCCvAgnFeSaCYm
7NC/QH4ozSy+Ov35KX5ea/rnKLsSUiPcDal5izcQBYRDWeivetG216NaMzeNdUIg
BKz0J49w1xhD5w6/32n0Rr8p7LlxC/GZFYRScGeKWur+d0Kbc5r2X0uuJ+bOwTOF
dRWeiMtLpIPoRsb1Ed8LnbsNl5tNIAYIViXFx1DDliTu1Br/UYFqK4BqnB+fdkh4
D18QXL6Vuz/EPP5qmcP7OsqZQ2rURzlrKT253d6VNyipGJvung3vyIjU9DG/c7mx
nqig3s4Swxb7Kg7eTuUZh3iDyU6mq6NuWsD5vRAbOPnwfhKVC0xBVWCEqcA4zxHq
uGmATVhNgSiiz0xWcDJ/mpWsXh40K7vfvUUXrP4QjnrNAgMBAAE=
-----END PUBLIC KEY-----
"""


def host_facts() -> dict[str, str]:
    """MAC of the primary interface, hostname, CPU architecture and OS platform."""
    node = uuid.getnode()
    mac = ":".join(f"{(node >> s) & 0xFF:02x}" for s in range(40, -1, -8))
    return {
        "mac": mac,
        "hostname": socket.gethostname(),
        "arch": platform.machine(),
        "platform": platform.system(),
    }


def fingerprint(facts: dict[str, str] | None = None, installation_id: str = "") -> str:
    """SHA-256 over the host facts (and an agent's installation id), as 64 hex characters."""
    facts = facts if facts is not None else host_facts()
    parts = [facts.get(k, "") for k in ("mac", "hostname", "arch", "platform")]
    text = "\n".join(["meshq-fingerprint:v1", installation_id, *parts])
    return hashlib.sha256(text.encode()).hexdigest()
