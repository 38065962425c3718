from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.discovery_lab import PASSWORD, PASSWORD_ENV, Lab, lab_port, lab_spec, serve


@pytest.fixture(scope="module")
def ssh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    port = lab_port()
    with serve(lab_spec(port), tmp_path_factory.mktemp("fakenos")) as proc:
        yield Lab(port=port, proc=proc)


@pytest.fixture
def lab_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return {PASSWORD_ENV: PASSWORD}
