from __future__ import annotations

from collections.abc import Iterator

import pytest
from meshq_runtime.embedded import free_port
from support.discovery_lab import PASSWORD, PASSWORD_ENV, Lab, lab_port, lab_spec, serve
from support.snmp_lab import serve as snmp_serve


@pytest.fixture(scope="module")
def ssh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    port = lab_port()
    workdir = tmp_path_factory.mktemp("fakenos")
    with serve(lab_spec(port), workdir) as proc:
        yield Lab(port=port, proc=proc, workdir=workdir)


@pytest.fixture
def lab_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return {PASSWORD_ENV: PASSWORD}


@pytest.fixture(scope="session")
def snmp_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """snmpsim agents for core1, acc1 and acc2 on 127.0.0.21-23; yields their UDP port."""
    port = free_port()
    with snmp_serve(tmp_path_factory.mktemp("snmpsim"), port):
        yield port
