"""What an audit event carries of a part (parameters, a sample row): a small flat part is taken
as it is without being measured, and that gives exactly what cutting and measuring it gives."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import pytest
from meshq_runtime.audit import (
    MAX_ITEMS,
    MAX_PART_BYTES,
    MAX_VALUE_CHARS,
    _digest,
    _small_and_flat,
    bounded,
    bounded_part,
)


def _measured(value: dict[str, Any]) -> dict[str, Any]:
    """bounded_part without its shortcut: cut, then measure the JSON."""
    cut = bounded(value)
    text = json.dumps(cut, default=str, ensure_ascii=False)
    if len(text.encode()) <= MAX_PART_BYTES:
        return cut if isinstance(cut, dict) else {}
    raw = json.dumps(value, default=str, ensure_ascii=False)
    return {"_omitted": {"bytes": len(raw.encode()), "sha256": _digest(raw)}}


def _value(rnd: random.Random) -> Any:
    pick = rnd.random()
    if pick < 0.3:
        size = rnd.choice([0, 5, 100, MAX_VALUE_CHARS, MAX_VALUE_CHARS + 1, 300])
        return "".join(rnd.choice(string.printable) for _ in range(size))
    if pick < 0.4:
        return rnd.choice([True, False, None])
    if pick < 0.55:
        return rnd.choice([0, -1, 10**17, 10**18, -(10**18), 10**30])
    if pick < 0.7:
        return rnd.choice([0.5, 1e300, float("inf"), -0.0])
    if pick < 0.8:
        return rnd.choice([[1, "a"], {"x": 1}, ("t",)])
    return "é" * rnd.choice([1, 300])


@pytest.mark.parametrize("seed", range(4))
def test_the_shortcut_gives_what_measuring_gives(seed: int) -> None:
    rnd = random.Random(seed)
    took_shortcut = 0
    for _ in range(3000):
        size = rnd.choice([0, 1, 8, MAX_ITEMS, MAX_ITEMS + 1, 70])
        key = "k" * rnd.choice([1, 20, MAX_VALUE_CHARS, MAX_VALUE_CHARS + 1])
        part = {f"{key}{i}"[: MAX_VALUE_CHARS + 1]: _value(rnd) for i in range(size)}
        took_shortcut += _small_and_flat(part)
        assert json.dumps(bounded_part(part)) == json.dumps(_measured(part))
    assert took_shortcut > 100  # both paths were taken


def test_a_row_is_taken_as_it_is_and_a_large_one_is_not() -> None:
    row = {"hostname": "core-1", "vendor": "cisco", "serial": "ABC123", "ports": 48, "up": True}
    assert _small_and_flat(row) and bounded_part(row) == row
    assert bounded_part(row) is not row  # a copy: the answer's row is not shared
    wide = {f"k{i}": "x" * MAX_VALUE_CHARS for i in range(MAX_ITEMS)}  # 50 x 256 chars
    assert not _small_and_flat(wide)
    assert len(json.dumps(bounded_part(wide))) <= MAX_PART_BYTES
    assert not _small_and_flat({"site": "é"}) and bounded_part({"site": "é"}) == {"site": "é"}
