"""The meshq command line: help, contracts export, one-line errors."""

from __future__ import annotations

import importlib.metadata as md
import json
import sys
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner
from network_discovery.cli import cli
from network_discovery.cli._common import CliError
from network_discovery.client import ApiError


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "contracts" in result.output


def test_contracts_export_writes_schemas(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["contracts", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert "meshq.audit.events" in json.dumps(index)
    assert (tmp_path / "out" / "snapshot.json").exists()


def test_contracts_export_to_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, ["contracts", "export", str(blocker / "sub")])
    assert result.exit_code != 0
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("meshq: cannot write to")


def test_an_error_answer_is_told_by_its_problem_detail_else_its_text() -> None:
    problem = {"type": "about:blank", "title": "Not Found", "status": 404}
    told = ApiError.from_response(httpx.Response(404, json={**problem, "detail": "no such query"}))
    assert str(told) == "404: no such query"
    assert str(ApiError.from_response(httpx.Response(404, json=problem))) == "404: Not Found"
    text = ApiError.from_response(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert str(text) == "502: <html>Bad Gateway</html>"


def test_a_command_error_is_one_line_on_stderr_with_exit_1() -> None:
    @click.command()
    def fails() -> None:
        raise CliError("the graph is not there")

    result = CliRunner().invoke(fails, [])
    assert result.exit_code == 1
    assert result.stderr == "meshq: the graph is not there\n"
    assert result.stdout == ""


@pytest.mark.parametrize("missing", ["meshq_runtime", "meshq_runtime.serve"])
def test_serve_without_the_embedded_stack_says_what_to_install(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A customer install has neither meshq-runtime nor meshq-embedded: one line, exit 1."""
    monkeypatch.setitem(sys.modules, missing, None)
    if missing == "meshq_runtime":
        monkeypatch.delitem(sys.modules, "meshq_runtime.serve", raising=False)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("meshq: 'meshq serve' needs the development package meshq-embedded")
    assert "make setup" in lines[0]


def test_version_comes_from_the_installed_distribution() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"meshq, version {md.version('meshoptixiq-network-discovery')}"
