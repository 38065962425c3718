"""Authenticated encryption of license state (AES-256-GCM, key from HKDF), and the file cache."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["FileCache", "SealError", "seal", "unseal"]

log = structlog.get_logger(__name__)

_MAGIC = b"MQL1"


class SealError(ValueError):
    """Sealed data is corrupt, truncated, or sealed under another key or binding."""


def _key(material: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"meshq-state", info=purpose).derive(
        material
    )


def seal(material: bytes, binding: bytes, data: dict[str, Any]) -> bytes:
    """Encrypt ``data`` under a key derived from ``material``; ``binding`` is authenticated."""
    nonce = secrets.token_bytes(12)
    plain = json.dumps(data, sort_keys=True).encode()
    return _MAGIC + nonce + AESGCM(_key(material, b"aead-v1")).encrypt(nonce, plain, binding)


def unseal(material: bytes, binding: bytes, blob: bytes) -> dict[str, Any]:
    if len(blob) < len(_MAGIC) + 12 + 16 or not blob.startswith(_MAGIC):
        raise SealError("not a sealed license state")
    nonce, body = blob[4:16], blob[16:]
    try:
        plain = AESGCM(_key(material, b"aead-v1")).decrypt(nonce, body, binding)
        data = json.loads(plain)
    except (InvalidTag, ValueError) as exc:
        raise SealError("sealed license state does not open") from exc
    if not isinstance(data, dict):
        raise SealError("sealed license state is not an object")
    return data


class FileCache:
    """The verifier's local state file: sealed, bound to the key and fingerprint, mode 0600."""

    def __init__(self, path: Path, key: str, fingerprint: str) -> None:
        self.path = path
        self._material = key.encode() + b"\0" + fingerprint.encode()
        self._binding = b"meshq-license-file:v1:" + fingerprint.encode()

    def load(self) -> dict[str, Any] | None:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("license.cache_unreadable", path=str(self.path), error=str(exc))
            return None
        try:
            return unseal(self._material, self._binding, blob)
        except SealError:
            log.warning("license.cache_discarded", path=str(self.path), reason="does not open")
            self.clear()
            return None

    def save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(seal(self._material, self._binding, data))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
