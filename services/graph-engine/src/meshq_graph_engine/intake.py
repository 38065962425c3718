"""Snapshots submitted through the gateway (``POST /snapshots``): received, stored, queued.

A submission streams in (gzip or plain JSON, any transfer encoding), is written to the
writer's disk while it is hashed and its decompressed size is bounded, and is checked whole
against the snapshot model, so a malformed one is refused at once with its field errors. Only
then is it *accepted*: its file is fsynced under ``incoming/``, its status record written, and a
small :class:`SnapshotStored` reference is published on ``meshq.ingest.snapshots``. The
consumer that applies it finds the file (or the parsed snapshot, still in memory when it is
small) by that reference; it writes the final status (*applied* with its diff summary, or
*rejected* with the reason) that ``GET /snapshots/{id}`` reports and long-polls on.

Nothing accepted is lost: the file and the record are durable before the caller hears 202. A
reference the broker lost (or could not take at submission) is published again by
:meth:`SnapshotIntake.sweep` until the snapshot has a final status; the consumer skips a
reference whose snapshot is already final, so a repeat applies nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import structlog
from meshq_runtime.errors import field_errors
from network_discovery.model import Snapshot
from pydantic import ValidationError

from meshq_graph_engine.facts import SnapshotFacts, read_snapshot

__all__ = [
    "DEFAULT_MAX_SNAPSHOT_BYTES",
    "PARSED_KEPT_MAX_BYTES",
    "Accepted",
    "IntakeError",
    "SnapshotIntake",
    "public_status",
]

log = structlog.get_logger(__name__)

#: Largest snapshot accepted, in bytes of JSON once decompressed (``MESHQ_SNAPSHOT_MAX_BYTES``).
DEFAULT_MAX_SNAPSHOT_BYTES = 4 * 1024**3
#: Parsed snapshots (their facts as rows) kept in memory between acceptance and apply (the
#: consumer reuses them)...
_PARSED_KEPT = 2
#: ...when their JSON is at most this large: a larger one is read again from its file when its
#: turn comes, so that accepted snapshots waiting for the writer hold no memory.
PARSED_KEPT_MAX_BYTES = 16 * 1024**2
#: Finished status records older than this are pruned by the sweep (seconds).
_STATUS_RETENTION = 30 * 24 * 3600
#: Field errors reported for a refused snapshot, at most.
_MAX_ERRORS = 50

_SAFE = re.compile(r"[^A-Za-z0-9._@-]")
Status = Literal["accepted", "applied", "rejected"]


class IntakeError(Exception):
    """A submission refused before it was accepted: ``status`` is the HTTP answer."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors


@dataclass(frozen=True)
class Accepted:
    #: The snapshot's facts as rows (validated as the snapshot model validates them).
    snapshot: SnapshotFacts
    sha256: str
    bytes: int
    record: dict[str, Any]


def _safe(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{_SAFE.sub('_', name)[:80]}-{digest}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _write_durably(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


class _Decoder:
    """The body as it arrives to the JSON it carries: gzip undone, size bounded."""

    def __init__(self, encoding: str | None, limit: int) -> None:
        enc = (encoding or "identity").strip().lower()
        if enc not in {"identity", "gzip", "x-gzip"}:
            raise IntakeError(
                415,
                "Unsupported content encoding",
                f"Content-Encoding {enc[:40]!r} is not supported; send the snapshot as plain "
                "JSON or gzip",
            )
        # 16 + MAX_WBITS: a gzip header and trailer; several members in a row are allowed
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if enc != "identity" else None
        self.limit = limit
        self.size = 0
        self.wire = 0
        self.sha = hashlib.sha256()

    def _out(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.limit:
            raise IntakeError(
                413,
                "Snapshot too large",
                f"the snapshot exceeds {self.limit} bytes of JSON (MESHQ_SNAPSHOT_MAX_BYTES)",
            )
        self.sha.update(data)
        return data

    def feed(self, chunk: bytes) -> bytes:
        self.wire += len(chunk)
        if self._inflate is None:
            return self._out(chunk)
        out = bytearray()
        data = chunk
        try:
            while data:
                # bounded output per step: a small body that inflates to gigabytes is stopped
                # at the limit, never held whole
                piece = self._inflate.decompress(data, 1 << 20)
                out += self._out(piece)
                data = self._inflate.unconsumed_tail
                if self._inflate.eof and self._inflate.unused_data:
                    rest = self._inflate.unused_data
                    self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    data = rest
        except zlib.error as exc:
            raise IntakeError(400, "Unreadable body", f"the gzip body is corrupt ({exc})") from None
        return bytes(out)

    def close(self) -> bytes:
        if self._inflate is None:
            return b""
        if not self._inflate.eof:
            raise IntakeError(400, "Unreadable body", "the gzip body ends before its trailer")
        return self._out(self._inflate.flush())


class SnapshotIntake:
    """The writer's store of submitted snapshots and their status records."""

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES,
        keep_parsed_bytes: int = PARSED_KEPT_MAX_BYTES,
    ) -> None:
        self.incoming = root / "incoming"
        self.records = root / "intake"
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.records.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        #: Largest snapshot (bytes of JSON) kept parsed between acceptance and apply.
        self.keep_parsed_bytes = keep_parsed_bytes
        self._parsed: OrderedDict[str, tuple[str, SnapshotFacts]] = OrderedDict()
        self._changed: dict[str, asyncio.Event] = {}
        #: Snapshots whose apply is under way (the sweep leaves their reference alone).
        self.applying: set[str] = set()
        for stale in self.incoming.glob("*.part"):  # a receive a crash cut short
            stale.unlink(missing_ok=True)

    # --- receiving -----------------------------------------------------------------------

    async def receive(
        self,
        body: AsyncIterator[bytes],
        *,
        encoding: str | None,
        submitted_by: str,
    ) -> Accepted:
        """Store a submission and check it; :class:`IntakeError` when it is refused (nothing
        of it is kept then)."""
        decoder = _Decoder(encoding, self.max_bytes)
        part = self.incoming / f"receiving-{os.getpid()}-{time.monotonic_ns()}.part"
        try:
            fh = await asyncio.to_thread(open, part, "wb")
            try:
                async for chunk in body:
                    if chunk:  # buffered writes to local disk; the fsync runs off the loop
                        fh.write(decoder.feed(chunk))
                fh.write(decoder.close())
                fh.flush()
                await asyncio.to_thread(os.fsync, fh.fileno())
            finally:
                fh.close()
            if decoder.size == 0:
                raise IntakeError(400, "Empty body", "send the snapshot JSON as the body")
            snapshot = await asyncio.to_thread(self._parse, part)
            sha = decoder.sha.hexdigest()
            final = self._file(snapshot.snapshot_id)
            part.replace(final)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        record = {
            "snapshot_id": snapshot.snapshot_id,
            "status": "accepted",
            "source": snapshot.source,
            "collected_at": snapshot.collected_iso,
            "submitted_at": _now(),
            "submitted_by": submitted_by[:256],
            "finished_at": None,
            "sha256": sha,
            "bytes": decoder.size,
            "wire_bytes": decoder.wire,
            "queued_at": None,
            "result": None,
            "reason": None,
            "plan": None,
            "limit": None,
        }
        self._write(record)
        if decoder.size <= self.keep_parsed_bytes:
            self._keep(snapshot.snapshot_id, sha, snapshot)
        log.info(
            "snapshot.accepted",
            snapshot_id=snapshot.snapshot_id,
            bytes=decoder.size,
            wire_bytes=decoder.wire,
            submitted_by=submitted_by[:100],
        )
        return Accepted(snapshot, sha, decoder.size, record)

    @staticmethod
    def _parse(path: Path) -> SnapshotFacts:
        data = path.read_bytes()
        try:
            return read_snapshot(data)
        except ValidationError as exc:
            errors = field_errors(exc, root="body", limit=_MAX_ERRORS)
            raise IntakeError(
                422,
                "Invalid snapshot",
                f"the body is not a valid snapshot: {len(exc.errors())} error(s), first "
                f"at {errors[0]['field'] if errors else 'body'}",
                errors=errors,
            ) from None

    # --- for the consumer --------------------------------------------------------------------

    def load(self, snapshot_id: str, sha256: str) -> SnapshotFacts | None:
        """The accepted snapshot the reference names, as its facts' rows: from memory, else
        from its file; None when it is gone or is not the one the reference was made for."""
        kept = self._parsed.get(snapshot_id)
        if kept is not None and kept[0] == sha256:
            return kept[1]
        path = self._file(snapshot_id)
        if not path.exists():
            return None
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            return None
        return read_snapshot(data)

    def finish(
        self,
        snapshot: Snapshot | SnapshotFacts | str,
        status: Status,
        *,
        result: dict[str, Any] | None = None,
        reason: str | None = None,
        plan: str | None = None,
        limit: int | None = None,
    ) -> None:
        """The final status of a snapshot, however it came in; its stored file is dropped."""
        snapshot_id = snapshot if isinstance(snapshot, str) else snapshot.snapshot_id
        record = self.status(snapshot_id) or {
            "snapshot_id": snapshot_id,
            "source": "" if isinstance(snapshot, str) else snapshot.source,
            "submitted_at": None,
            "submitted_by": None,
        }
        record.update(
            status=status,
            finished_at=_now(),
            result=result,
            reason=reason[:2000] if reason else None,
            plan=plan,
            limit=limit,
        )
        self._write(record)
        self._file(snapshot_id).unlink(missing_ok=True)
        self._parsed.pop(snapshot_id, None)

    # --- status ------------------------------------------------------------------------------

    def status(self, snapshot_id: str) -> dict[str, Any] | None:
        path = self._record(snapshot_id)
        try:
            return dict(json.loads(path.read_bytes()))
        except FileNotFoundError:
            return None
        except ValueError:  # a torn record cannot happen (atomic replace); be safe anyway
            log.error("intake.record_unreadable", path=str(path))
            return None

    def queued(self, snapshot_id: str) -> None:
        """Its reference is on the broker (as of now)."""
        record = self.status(snapshot_id)
        if record is not None and record.get("status") == "accepted":
            record["queued_at"] = time.time()
            self._write(record)

    async def wait(self, snapshot_id: str, timeout: float) -> dict[str, Any] | None:
        """The status record, once it is final or ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._changed.setdefault(snapshot_id, asyncio.Event())
            record = self.status(snapshot_id)
            left = deadline - time.monotonic()
            if record is None or record.get("status") != "accepted" or left <= 0:
                return record
            try:
                await asyncio.wait_for(event.wait(), timeout=left)
            except TimeoutError:
                return self.status(snapshot_id)

    def pending(self) -> list[dict[str, Any]]:
        """Accepted snapshots not yet applied or refused, oldest first."""
        out = []
        for path in self.records.glob("*.json"):
            try:
                record = json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue
            if record.get("status") == "accepted":
                out.append(record)
        return sorted(out, key=lambda r: str(r.get("submitted_at") or ""))

    async def sweep(
        self, publish: Callable[[dict[str, Any]], Awaitable[None]], *, after: float
    ) -> int:
        """Publish again the reference of every accepted snapshot that has waited ``after``
        seconds since its reference went out (or that never went out); prune old records.
        Returns how many references were published."""
        sent = 0
        now = time.time()
        for record in self.pending():
            snapshot_id = str(record["snapshot_id"])
            if snapshot_id in self.applying:
                continue
            queued = record.get("queued_at")
            if queued is not None and now - float(queued) < after:
                continue
            if not self._file(snapshot_id).exists():
                self.finish(
                    snapshot_id,
                    "rejected",
                    reason="the stored snapshot was lost before it could be applied; "
                    "submit it again",
                )
                continue
            try:
                await publish(record)
            except Exception as exc:
                log.warning(
                    "intake.requeue_failed",
                    snapshot_id=snapshot_id,
                    error=f"{type(exc).__name__}: {exc}"[:200],
                )
                break  # the broker is away: the next sweep tries again
            self.queued(snapshot_id)
            sent += 1
            log.warning("intake.requeued", snapshot_id=snapshot_id, queued_at=queued)
        self._prune(now)
        return sent

    def _prune(self, now: float) -> None:
        for path in self.records.glob("*.json"):
            try:
                if now - path.stat().st_mtime < _STATUS_RETENTION:
                    continue
                record = json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue
            if record.get("status") != "accepted":
                path.unlink(missing_ok=True)

    # --- files -------------------------------------------------------------------------------

    def _file(self, snapshot_id: str) -> Path:
        return self.incoming / f"{_safe(snapshot_id)}.json"

    def _record(self, snapshot_id: str) -> Path:
        return self.records / f"{_safe(snapshot_id)}.json"

    def _write(self, record: dict[str, Any]) -> None:
        snapshot_id = str(record["snapshot_id"])
        _write_durably(self._record(snapshot_id), json.dumps(record, sort_keys=True).encode())
        event = self._changed.pop(snapshot_id, None)
        if event is not None:
            event.set()

    def _keep(self, snapshot_id: str, sha256: str, snapshot: SnapshotFacts) -> None:
        self._parsed[snapshot_id] = (sha256, snapshot)
        self._parsed.move_to_end(snapshot_id)
        while len(self._parsed) > _PARSED_KEPT:
            self._parsed.popitem(last=False)


def public_status(record: dict[str, Any]) -> dict[str, Any]:
    """What ``GET /snapshots/{id}`` shows of a status record."""
    keys = (
        "snapshot_id",
        "status",
        "source",
        "collected_at",
        "submitted_at",
        "submitted_by",
        "finished_at",
        "sha256",
        "bytes",
        "result",
        "reason",
        "plan",
        "limit",
    )
    return {k: record.get(k) for k in keys}
