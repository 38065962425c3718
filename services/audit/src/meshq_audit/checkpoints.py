"""Signed checkpoints of the chain head, kept outside the database.

Every record of the chain carries an HMAC, and so does the head; but whoever can write to the
database can delete the newest records and put back an earlier head row (a copy of it taken
before), and the chain would read as intact, only shorter. A checkpoint is the head at a
moment, signed with the audit key and written where the database cannot reach it: an
append-only file of the audit service (``MESHQ_AUDIT_CHECKPOINT_FILE``, default
``<data dir>/audit/checkpoints.jsonl``) and the SIEM stream, as Certificate Transparency logs
publish signed tree heads. Verification checks the chain against the newest checkpoints: a
chain shorter than one, or with another record where one was signed, is broken.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import deque
from pathlib import Path

import structlog

from meshq_audit.chain import Checkpoint

__all__ = ["CHECKED", "CheckpointLog"]

log = structlog.get_logger(__name__)

#: How many of the newest checkpoints a verification checks (each is one lookup).
CHECKED = 16
#: Lines kept in memory when the file is read (the newest).
_KEEP = 1024
_MAX_LINE = 1024


class CheckpointLog:
    def __init__(self, path: Path, key: bytes) -> None:
        self.path, self._key = path, key

    def append(self, checkpoint: Checkpoint) -> None:
        """One line, flushed to disk before this returns (mode 0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(checkpoint.as_dict(), sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def read(self) -> tuple[list[Checkpoint], int]:
        """The newest checkpoints whose signature holds (newest first), and how many lines
        did not verify (forged, cut or garbled)."""
        if not self.path.exists():
            return [], 0
        lines: deque[str] = deque(maxlen=_KEEP)
        with contextlib.suppress(OSError), self.path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                lines.append(line[:_MAX_LINE])
        valid: list[Checkpoint] = []
        bad = 0
        for line in reversed(lines):
            try:
                data = json.loads(line)
                checkpoint = Checkpoint(
                    int(data["seq"]),
                    str(data["entry_hash"]),
                    str(data["at"]),
                    str(data["signature"]),
                )
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            if checkpoint.valid(self._key):
                valid.append(checkpoint)
            else:
                bad += 1
        if bad:
            log.warning("audit.checkpoints_unverified", lines=bad, file=str(self.path))
        return valid, bad

    def last(self) -> Checkpoint | None:
        valid, _ = self.read()
        return valid[0] if valid else None
