"""Signed checkpoints and the head's HMAC: domains kept apart, forged lines not believed."""

from __future__ import annotations

import json
from pathlib import Path

from meshq_audit.chain import Checkpoint, head_hmac, record_hmac
from meshq_audit.checkpoints import CheckpointLog

KEY = b"k" * 32


def test_a_record_hmac_cannot_stand_in_for_the_head() -> None:
    assert head_hmac(KEY, 5, "a" * 64) != record_hmac(KEY, 5, "a" * 64)


def test_the_log_keeps_the_valid_lines_newest_first(tmp_path: Path) -> None:
    log = CheckpointLog(tmp_path / "audit" / "checkpoints.jsonl", KEY)
    first = Checkpoint.sign(KEY, 3, "a" * 64, "2026-12-06T10:00:00+00:00")
    second = Checkpoint.sign(KEY, 7, "b" * 64, "2026-12-06T10:01:00+00:00")
    log.append(first)
    log.append(second)
    with log.path.open("a") as fh:
        fh.write("{not json\n")
        fh.write(json.dumps({**second.as_dict(), "seq": 99}) + "\n")  # edited: signature fails
    valid, bad = log.read()
    assert valid == [second, first] and bad == 2
    assert log.last() == second
    assert oct(log.path.stat().st_mode & 0o777) == "0o600"


def test_a_checkpoint_signed_with_another_key_is_invalid() -> None:
    forged = Checkpoint.sign(b"x" * 32, 1, "c" * 64, "2026-12-06T10:00:00+00:00")
    assert not forged.valid(KEY)
