"""The coverage matrix in docs/ingest-cli-output.md is what the parser registry reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from network_discovery.parsers import COMMANDS
from network_discovery.parsers.coverage import BEGIN, END, coverage_matrix, main, replace_matrix

DOC = Path(__file__).parents[3] / "docs" / "ingest-cli-output.md"


def test_the_document_holds_the_generated_matrix() -> None:
    assert main(["--check", str(DOC)]) == 0, (
        "run: python -m network_discovery.parsers.coverage --write docs/ingest-cli-output.md"
    )


def test_every_command_and_form_is_in_the_matrix() -> None:
    matrix = coverage_matrix()
    for specs in COMMANDS.values():
        for spec in specs:
            for name in spec.names:
                assert f"`{name}`".replace("|", "\\|") in matrix


def test_a_stale_document_is_caught(tmp_path: Path) -> None:
    stale = tmp_path / "doc.md"
    stale.write_text(f"intro\n{BEGIN}\n| old | table |\n{END}\nrest\n")
    assert main(["--check", str(stale)]) == 1
    assert main(["--write", str(stale)]) == 0
    assert main(["--check", str(stale)]) == 0
    assert stale.read_text().startswith("intro\n") and stale.read_text().endswith(f"{END}\nrest\n")


def test_a_document_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="coverage-matrix"):
        replace_matrix("no markers here")
