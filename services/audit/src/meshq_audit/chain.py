"""Verifying the hash chain: pure functions over rows, so tests need no database.

Each record carries ``entry_hash = sha256(prev_hash, seq, body)`` and ``hmac = HMAC-SHA256(key,
seq, entry_hash)``. Anyone with database access can recompute hashes; only the audit service
holds the key, so a chain rebuilt without it fails on the first rewritten record.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "GENESIS_HASH",
    "Break",
    "ChainRow",
    "Checkpoint",
    "Verification",
    "entry_hash",
    "extend",
    "head_hmac",
    "link",
    "record_hmac",
    "verify_rows",
]

GENESIS_HASH = "0" * 64
LOOKAHEAD = 64

Kind = Literal["changed", "deleted", "inserted", "reordered"]


def entry_hash(prev_hash: str, seq: int, body: str) -> str:
    """SHA-256 over the previous hash, the position and the canonical JSON body."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode())
    digest.update(b"\x1f")
    digest.update(str(seq).encode())
    digest.update(b"\x1f")
    digest.update(body.encode())
    return digest.hexdigest()


def record_hmac(key: bytes, seq: int, digest: str) -> str:
    """HMAC-SHA256 under the service's key over the position and the entry hash."""
    return hmac.new(key, f"{seq}\x1f{digest}".encode(), hashlib.sha256).hexdigest()


def head_hmac(key: bytes, seq: int, digest: str) -> str:
    """The chain head's HMAC: its own domain, so no record's HMAC can stand in for it (moving
    the head back to an earlier record needs the key)."""
    return hmac.new(key, f"head\x1f{seq}\x1f{digest}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the chain head at a moment, kept outside the database (a file
    of the audit service, the SIEM stream): a later truncation cannot undo it."""

    seq: int
    entry_hash: str
    at: str
    signature: str

    @staticmethod
    def sign(key: bytes, seq: int, digest: str, at: str) -> Checkpoint:
        return Checkpoint(seq, digest, at, _checkpoint_mac(key, seq, digest, at))

    def valid(self, key: bytes) -> bool:
        expected = _checkpoint_mac(key, self.seq, self.entry_hash, self.at)
        return hmac.compare_digest(expected, self.signature)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "at": self.at,
            "signature": self.signature,
        }


def _checkpoint_mac(key: bytes, seq: int, digest: str, at: str) -> str:
    text = f"checkpoint\x1f{seq}\x1f{digest}\x1f{at}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainRow:
    seq: int
    event_id: str
    body: str
    prev_hash: str
    entry_hash: str
    hmac: str | None


@dataclass(frozen=True)
class Break:
    seq: int
    kind: Kind
    reason: str
    event_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "reason": self.reason,
            "event_id": self.event_id,
        }


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_seq: int
    last_seq: int
    head_seq: int
    brk: Break | None = None
    #: Signed checkpoints the chain was checked against.
    checkpoints: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "from": self.first_seq,
            "last_seq": self.last_seq,
            "head_seq": self.head_seq,
            "break": self.brk.as_dict() if self.brk else None,
            "checkpoints": self.checkpoints,
        }


def extend(
    key: bytes, head_seq: int, head_hash: str, entries: Iterable[tuple[str, str]]
) -> list[ChainRow]:
    """The records that append ``entries`` ((event id, canonical body), in order) to a chain
    whose head is ``head_seq``/``head_hash``: each one links to the one before it, the first
    to the head, so a batch continues the chain exactly as one append after another would."""
    rows: list[ChainRow] = []
    seq, prev = head_seq, head_hash
    for event_id, body in entries:
        seq += 1
        rows.append(link(key, prev, seq, event_id, body))
        prev = rows[-1].entry_hash
    return rows


def link(key: bytes, prev_hash: str, seq: int, event_id: str, body: str) -> ChainRow:
    """The record at ``seq``, linked to the one before it (``prev_hash``)."""
    digest = entry_hash(prev_hash, seq, body)
    return ChainRow(seq, event_id, body, prev_hash, digest, record_hmac(key, seq, digest))


async def _aiter(rows: Iterable[ChainRow]) -> AsyncIterator[ChainRow]:
    for row in rows:
        yield row


class _Window:
    """Rows in order with a bounded look-ahead; only the look-ahead is held in memory."""

    def __init__(self, rows: Iterable[ChainRow] | AsyncIterable[ChainRow]) -> None:
        source = rows if isinstance(rows, AsyncIterable) else _aiter(rows)
        self._it: AsyncIterator[ChainRow] = aiter(source)
        self._buf: list[ChainRow] = []
        self._done = False

    async def _fill(self, n: int) -> None:
        while len(self._buf) < n and not self._done:
            try:
                self._buf.append(await anext(self._it))
            except StopAsyncIteration:
                self._done = True

    async def pop(self) -> ChainRow | None:
        await self._fill(1)
        return self._buf.pop(0) if self._buf else None

    async def ahead(self, n: int = LOOKAHEAD) -> list[ChainRow]:
        await self._fill(n)
        return self._buf[:n]


def _classify(
    row: ChainRow, prev: str, expected: int, ahead: list[ChainRow], key: bytes
) -> Break | None:
    if row.seq > expected:
        missing = f"{expected}" if row.seq == expected + 1 else f"{expected}..{row.seq - 1}"
        return Break(expected, "deleted", f"record(s) {missing} are missing")
    if row.seq < expected:
        return Break(row.seq, "inserted", "a record repeats an earlier position", row.event_id)
    if row.prev_hash != prev:
        if any(later.prev_hash == prev for later in ahead):
            return Break(
                row.seq, "reordered", "the record expected here appears later", row.event_id
            )
        return Break(
            row.seq, "deleted", "the record before this one is missing (renumbered)", row.event_id
        )
    if ahead and ahead[0].prev_hash == prev and row.entry_hash != prev:
        return Break(row.seq, "inserted", "the next record links past this one", row.event_id)
    if entry_hash(row.prev_hash, row.seq, row.body) != row.entry_hash:
        return Break(row.seq, "changed", "content does not match its hash", row.event_id)
    if row.hmac is None:
        return Break(row.seq, "changed", "the record has no HMAC", row.event_id)
    if not hmac.compare_digest(record_hmac(key, row.seq, row.entry_hash), row.hmac):
        return Break(
            row.seq,
            "changed",
            "HMAC does not match: rewritten without the audit key",
            row.event_id,
        )
    return None


async def verify_rows(
    rows: Iterable[ChainRow] | AsyncIterable[ChainRow],
    *,
    key: bytes,
    start_seq: int,
    start_prev: str,
    head_seq: int,
    head_hash: str,
) -> Verification:
    """Walk ``rows`` (ordered by seq, from ``start_seq``) and name the first break."""
    window = _Window(rows)
    prev, expected, checked = start_prev, start_seq, 0
    last = start_seq - 1

    def result(brk: Break | None) -> Verification:
        return Verification(brk is None, checked, start_seq, last, head_seq, brk)

    while (row := await window.pop()) is not None:
        if row.seq > head_seq and expected > head_seq:
            return result(
                Break(row.seq, "inserted", "the record lies beyond the chain head", row.event_id)
            )
        brk = _classify(row, prev, expected, await window.ahead(), key)
        if brk is not None:
            return result(brk)
        checked += 1
        last, prev, expected = row.seq, row.entry_hash, row.seq + 1
    if head_seq > last and head_seq >= start_seq:
        return result(Break(last + 1, "deleted", f"the chain head is at {head_seq}"))
    if head_seq == last and head_seq >= start_seq and not hmac.compare_digest(prev, head_hash):
        return result(Break(last, "changed", "the chain head does not match the last record"))
    return result(None)
