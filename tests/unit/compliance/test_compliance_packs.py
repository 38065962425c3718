"""Rule packs: the built-in ones load; a customer's directory adds and replaces rules; a pack
that is wrong is refused with the file and the field at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from meshq_graph_engine.compliance.packs import (
    MAX_PACK_BYTES,
    PACKS_DIR_ENV,
    PackError,
    load_pack,
    load_packs,
)


def test_builtin_packs() -> None:
    packs = {p.pack: p for p in load_packs("")}
    assert set(packs) == {
        "ios-hardening",
        "nxos-hardening",
        "eos-hardening",
        "junos-hardening",
        "topology",
    }
    assert all(p.origin == "builtin" for p in packs.values())
    assert packs["topology"].platforms == ()
    ids = [r.id for p in packs.values() for r in p.rules]
    assert len(ids) == len(set(ids))
    assert all(r.remediation for p in packs.values() for r in p.rules)


def test_customer_packs_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ours.yaml").write_text(
        "pack: ours\ntitle: Ours\nplatforms: [cisco_ios]\nrules:\n"
        "  - id: ios-ntp-server\n    title: Two NTP servers\n    source: config\n"
        "    config: {present: '^ntp server 192\\.0\\.2\\.'}\n"
        "  - id: ours-domain\n    title: Domain\n    source: config\n"
        "    config: {present: '^ip domain name '}\n"
    )
    monkeypatch.setenv(PACKS_DIR_ENV, str(tmp_path))
    packs = {p.pack: p for p in load_packs()}
    assert packs["ours"].origin == str(tmp_path / "ours.yaml")
    # the customer's rule of the same id replaces the built-in one
    assert "ios-ntp-server" not in {r.id for r in packs["ios-hardening"].rules}
    assert {r.id for r in packs["ours"].rules} == {"ios-ntp-server", "ours-domain"}


def test_a_missing_directory_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(PACKS_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(PackError, match="not a directory"):
        load_packs()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("- a list\n", "a pack is a mapping"),
        ("pack: p\ntitle: P\nrules: []\n", "rules"),
        (
            "pack: p\ntitle: P\nrules:\n  - {id: r, title: R, source: config, "
            "config: {present: '(unclosed'}}\n",
            "invalid pattern",
        ),
        (
            "pack: p\ntitle: P\nrules:\n  - {id: r, title: R, source: facts, "
            "condition: 'open(1) > 0'}\n",
            "condition",
        ),
        (
            "pack: p\ntitle: P\nrules:\n  - {id: r, title: R, source: graph, "
            "condition: 'ntp_servers > 0'}\n",
            "expected one of",
        ),
        (
            "pack: p\ntitle: P\nrules:\n  - {id: r, title: R, source: config, "
            "config: {block: '^x'}}\n",
            "needs 'present', 'absent'",
        ),
        (
            "pack: p\ntitle: P\nrules:\n  - {id: r, title: R, source: config, "
            "config: {present: x}, shell: rm}\n",
            "rules.0.shell",
        ),
        (
            "pack: p\ntitle: P\nrules:\n"
            "  - {id: r, title: R, source: config, config: {present: x}}\n"
            "  - {id: r, title: R, source: config, config: {present: y}}\n",
            "defined twice",
        ),
        ("pack: p\ntitle: P\nrules: [\n", "cannot be read as YAML"),
        ("!!python/object/apply:os.system ['true']\n", "cannot be read as YAML"),
    ],
    ids=[
        "not-a-mapping",
        "no-rules",
        "bad-regex",
        "not-the-grammar",
        "unknown-variable",
        "nothing-to-check",
        "unknown-field",
        "duplicate-id",
        "broken-yaml",
        "python-tag",
    ],
)
def test_a_wrong_pack_is_refused(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(body)
    with pytest.raises(PackError) as raised:
        load_pack(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_a_huge_pack_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("#" * (MAX_PACK_BYTES + 1))
    with pytest.raises(PackError, match="at most"):
        load_pack(path)


def test_a_long_pattern_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(
        "pack: p\ntitle: P\nrules:\n  - {id: r, title: R, source: config, "
        f"config: {{present: '{'a' * 600}'}}}}\n"
    )
    with pytest.raises(PackError, match="longer than"):
        load_pack(path)
