"""The audit chain hash: deterministic, and sensitive to every input."""

from __future__ import annotations

from meshq_audit.repository import GENESIS_HASH, entry_hash


def test_entry_hash_is_deterministic_and_chained() -> None:
    first = entry_hash(GENESIS_HASH, 1, '{"a":1}')
    assert first == entry_hash(GENESIS_HASH, 1, '{"a":1}')
    assert len(first) == 64
    assert entry_hash(first, 2, '{"a":1}') != first
    assert entry_hash(GENESIS_HASH, 2, '{"a":1}') != first
    assert entry_hash(GENESIS_HASH, 1, '{"a":2}') != first
    # the separator keeps (seq, body) pairs from colliding
    assert entry_hash(GENESIS_HASH, 11, '{"a":1}') != entry_hash(GENESIS_HASH, 1, '1{"a":1}')
