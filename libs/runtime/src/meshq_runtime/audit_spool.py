"""The audit buffer's journal on disk: every audit event a producer still owes the audit log.

An append-only file of JSON lines (mode 0600): one line per event as it is submitted (the
event itself, as published), and a ``{"done": "<event id>"}`` line once the event needs
keeping no longer (the audit log confirmed it, or, without confirmations, the broker took it).
What is written survives the process, killed or not; :meth:`Spool.sync` (``fsync``, batched by
the sender before it publishes) makes it survive the machine. On start, the events without a
``done`` line are loaded, in order, and the file is rewritten with only those. The file is
compacted while it runs too: cut to nothing whenever nothing is owed, rewritten when most of
it is done.

One process at a time owns a journal (an exclusive ``flock``): a second process given the same
path (two gateways sharing a data directory) takes the next free one, ``<name>-1.jsonl`` and
so on, and a starting process picks up a journal that a dead one left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path

import structlog
from network_discovery.contracts.events import AuditRequestEvent

__all__ = ["Spool", "SpoolError"]

log = structlog.get_logger(__name__)

#: How many journals may sit side by side (processes sharing one data directory).
MAX_JOURNALS = 64
#: Compact once this many lines are done and they outnumber the live ones twice over.
COMPACT_AFTER = 2_000


class SpoolError(RuntimeError):
    """No journal could be opened; the message says where and why."""


class Spool:
    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.requested = path
        self.path = path
        self._fsync = fsync
        self._fd: int | None = None
        self._live = 0
        self._done = 0
        self._unsynced = False
        self._syncing = False

    # --- opening ------------------------------------------------------------------------

    def open(self) -> list[AuditRequestEvent]:
        """Take the first journal no other process holds; return the events it still owes
        (in order), and keep only those in it."""
        self.requested.parent.mkdir(parents=True, exist_ok=True)
        for n in range(MAX_JOURNALS):
            path = self.requested if n == 0 else _numbered(self.requested, n)
            fd = _lock(path, create=True)
            if fd is None:
                continue
            os.fchmod(fd, 0o600)
            self._fd, self.path = fd, path
            if n:
                log.info("audit.spool_shared", file=str(path), first=str(self.requested))
            events = {e.id: e for e in _read(fd)}
            for orphan in self._adopt():
                events.setdefault(orphan.id, orphan)
            self._rewrite(e.model_dump_json().encode() for e in events.values())
            events_list = list(events.values())
            if events_list:
                log.info("audit.spool_loaded", events=len(events_list), file=str(path))
            return events_list
        raise SpoolError(f"every audit journal beside {self.requested} is held by a process")

    def _adopt(self) -> list[AuditRequestEvent]:
        """The events of journals beside ours that no process holds (their process died);
        those journals are taken over and removed."""
        adopted: list[AuditRequestEvent] = []
        for n in range(MAX_JOURNALS):
            path = self.requested if n == 0 else _numbered(self.requested, n)
            if path == self.path or not path.exists():
                continue
            fd = _lock(path, create=False)
            if fd is None:
                continue  # a live process's journal
            events = _read(fd)
            path.unlink(missing_ok=True)
            os.close(fd)
            if events:
                log.info("audit.spool_adopted", events=len(events), file=str(path))
            adopted += events
        return adopted

    # --- writing ------------------------------------------------------------------------

    def append(self, line: bytes) -> None:
        """One submitted event (its JSON, no newline)."""
        self._write(line + b"\n")
        self._live += 1
        self._unsynced = True

    def done(self, event_id: str, live: Iterable[bytes]) -> None:
        """The event is owed no longer; ``live`` is every line still owed, should the
        journal be compacted now."""
        self._live = max(0, self._live - 1)
        self._done += 1
        if not self._syncing:  # never under a running fsync of the same file
            if self._live == 0:
                assert self._fd is not None
                os.ftruncate(self._fd, 0)
                self._done = 0
                return
            if self._done >= COMPACT_AFTER and self._done > 2 * self._live:
                self._rewrite(live)
                return
        self._write(json.dumps({"done": event_id}).encode() + b"\n")

    async def sync(self) -> None:
        """Make what was appended so far survive the machine (one ``fsync`` for all of it)."""
        if not (self._fsync and self._unsynced) or self._fd is None:
            return
        self._unsynced = False
        self._syncing = True
        try:
            await asyncio.to_thread(os.fsync, self._fd)
        finally:
            self._syncing = False

    def close(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.fsync(self._fd)
        os.close(self._fd)  # releases the lock
        self._fd = None

    # --- internals ----------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        assert self._fd is not None, "the journal is not open"
        _write_all(self._fd, data)

    def _rewrite(self, lines: Iterable[bytes]) -> None:
        """Replace the journal by ``lines``, atomically (a crash keeps the old or the new);
        the new file is locked before it takes the name, so no other process can take it."""
        assert self._fd is not None
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        count = 0
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            buf = bytearray()
            for line in lines:
                buf += line + b"\n"
                count += 1
                if len(buf) >= 1 << 20:
                    _write_all(fd, bytes(buf))
                    buf.clear()
            if buf:
                _write_all(fd, bytes(buf))
            if self._fsync:
                os.fsync(fd)
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        old, self._fd = self._fd, fd
        os.close(old)
        self._live, self._done, self._unsynced = count, 0, False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _lock(path: Path, *, create: bool) -> int | None:
    """A descriptor of ``path`` under an exclusive lock, or None when another process holds
    it. The lock must be on the file that has the name now: one replaced or removed while we
    waited for it (a rewrite, an adoption) is not the journal any more."""
    flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            raise BlockingIOError
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return None
    return fd


def _read(fd: int) -> list[AuditRequestEvent]:
    """The events a journal still owes, in order (lines cut by a crash are skipped: their
    event was never acknowledged to anyone)."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    events: dict[str, AuditRequestEvent] = {}
    for line in b"".join(chunks).splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and set(record) == {"done"}:
            events.pop(str(record["done"]), None)
            continue
        with contextlib.suppress(ValueError):
            event = AuditRequestEvent.model_validate(record)
            events.setdefault(event.id, event)
    return list(events.values())


def _numbered(path: Path, n: int) -> Path:
    return path.with_name(f"{path.stem}-{n}{path.suffix}")
