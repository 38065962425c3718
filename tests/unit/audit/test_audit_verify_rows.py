"""The chain walk on rows in memory: each kind of tampering is named at the right record."""

from __future__ import annotations

import dataclasses

from meshq_audit.chain import GENESIS_HASH, ChainRow, entry_hash, record_hmac, verify_rows

KEY = b"unit-test-key-0123456789"


def _chain(n: int, key: bytes = KEY) -> list[ChainRow]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        body = f'{{"n":{seq}}}'
        digest = entry_hash(prev, seq, body)
        rows.append(ChainRow(seq, f"e{seq}", body, prev, digest, record_hmac(key, seq, digest)))
        prev = digest
    return rows


async def _verify(rows: list[ChainRow], *, start: int = 1, head: tuple[int, str] | None = None):
    full = _chain(6)
    head_seq, head_hash = head or (full[-1].seq, full[-1].entry_hash)
    start_prev = GENESIS_HASH if start == 1 else full[start - 2].entry_hash
    return await verify_rows(
        [r for r in rows if r.seq >= start],
        key=KEY,
        start_seq=start,
        start_prev=start_prev,
        head_seq=head_seq,
        head_hash=head_hash,
    )


async def test_untouched_chain_verifies() -> None:
    result = await _verify(_chain(6))
    assert result.ok and result.checked == 6
    assert (await _verify(_chain(6), start=4)).checked == 3


async def test_changed_body() -> None:
    rows = _chain(6)
    rows[2] = dataclasses.replace(rows[2], body='{"n":99}')
    brk = (await _verify(rows)).brk
    assert brk is not None and (brk.seq, brk.kind) == (3, "changed")


async def test_deleted_middle_and_tail() -> None:
    rows = _chain(6)
    brk = (await _verify(rows[:3] + rows[4:])).brk
    assert (brk.seq, brk.kind) == (4, "deleted")
    brk = (await _verify(rows[:5])).brk
    assert (brk.seq, brk.kind) == (6, "deleted")


async def test_swapped_pair_is_reordered() -> None:
    rows = _chain(6)
    a, b = rows[1], rows[2]
    rows[1], rows[2] = dataclasses.replace(b, seq=2), dataclasses.replace(a, seq=3)
    brk = (await _verify(rows)).brk
    assert (brk.seq, brk.kind) == (2, "reordered")


async def test_appended_beyond_head_is_inserted() -> None:
    rows = _chain(7)
    brk = (await _verify(rows)).brk
    assert (brk.seq, brk.kind) == (7, "inserted")


async def test_rebuilt_with_another_key() -> None:
    rows = _chain(6, key=b"attacker-key-000000000000")
    brk = (await _verify(rows, head=(6, rows[-1].entry_hash))).brk
    assert (brk.seq, brk.kind) == (1, "changed") and "HMAC" in brk.reason


async def test_missing_hmac_is_a_break() -> None:
    rows = _chain(6)
    rows[0] = dataclasses.replace(rows[0], hmac=None)
    assert (await _verify(rows)).brk.kind == "changed"
