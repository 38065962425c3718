"""The Cython-compiled verifier: built, loaded ahead of the source, and passing the verifier
tests (run in a child process against a copy of the package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("Cython")

import network_discovery.licensing

REPO = Path(__file__).resolve().parents[3]


def test_compiled_verifier_loads_first_and_passes(tmp_path: Path) -> None:
    # network_discovery is a namespace package: a copy of its licensing part, first on the
    # path, stands in for the installed one while the other parts still load
    src = Path(network_discovery.licensing.__file__).parent
    copy = tmp_path / "site" / "network_discovery" / "licensing"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "network_discovery.licensing._build", str(copy)],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{REPO / 'tests'}"}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from network_discovery.licensing import verifier; print(verifier.__file__)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().endswith(".so")
    assert probe.stdout.strip().startswith(str(tmp_path))
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(REPO / "tests/unit/licensing/test_license_plans_gates.py"),
            str(REPO / "tests/unit/licensing/test_license_info.py"),
        ],
        env={**env, "MESHQ_EXPECT_COMPILED_VERIFIER": "1"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout
