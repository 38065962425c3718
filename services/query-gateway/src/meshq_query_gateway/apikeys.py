"""Named API keys with RBAC groups, made by ``meshq apikey create`` and stored hashed.

The file (``MESHQ_API_KEYS_FILE``, default ``$MESHQ_DATA_DIR/api_keys.json``) holds one entry per
key: id, name, groups, the SHA-256 of the key, when it was made and revoked. A key reads
``mqk_<id>_<secret>``; the id finds the entry and the hash is compared in constant time. Keys are
32 random bytes, so a fast hash is enough. The file is re-read when it changes (checked at most
once a second), so a revocation takes effect on every pod that shares it without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

__all__ = ["KEY_PREFIX", "KeyFile", "NamedKey", "hash_key", "key_id"]

log = structlog.get_logger(__name__)

KEY_PREFIX = "mqk_"


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def key_id(token: str) -> str | None:
    """The id part of ``mqk_<id>_<secret>``, or None for anything else."""
    if not token.startswith(KEY_PREFIX):
        return None
    ident, sep, secret = token[len(KEY_PREFIX) :].partition("_")
    return ident if sep and ident and secret else None


@dataclass(frozen=True)
class NamedKey:
    id: str
    name: str
    groups: frozenset[str]
    sha256: str


class KeyFile:
    def __init__(self, path: Path, *, check_every: float = 1.0) -> None:
        self.path = path
        self._check_every = check_every
        self._checked = 0.0
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, NamedKey] = {}

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self._check_every:
            return
        self._checked = now
        try:
            stat = self.path.stat()
        except OSError:
            self._keys, self._stamp = {}, None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            self._keys = {k.id: k for k in _parse(doc)}
            self._stamp = stamp
            log.info("apikeys.loaded", file=str(self.path), active=len(self._keys))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.error("apikeys.file_rejected", file=str(self.path), error=type(exc).__name__)

    def by_id(self, ident: str) -> NamedKey | None:
        """The key with this id, unless it was revoked (a web UI session made with it ends
        when it is revoked; the file is re-read as for :meth:`lookup`)."""
        self._refresh()
        return self._keys.get(ident)

    def lookup(self, token: str) -> NamedKey | None:
        ident = key_id(token)
        if ident is None:
            return None
        self._refresh()
        entry = self._keys.get(ident)
        digest = hash_key(token)
        if entry is None:
            hmac.compare_digest(digest, digest)  # same work whether or not the id exists
            return None
        return entry if hmac.compare_digest(digest, entry.sha256) else None


def _parse(doc: Any) -> list[NamedKey]:
    out = []
    for item in doc.get("keys", []):
        if item.get("revoked_at"):
            continue
        out.append(
            NamedKey(
                id=str(item["id"]),
                name=str(item["name"]),
                groups=frozenset(str(g) for g in item.get("groups", [])),
                sha256=str(item["sha256"]),
            )
        )
    return out
