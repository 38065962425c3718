"""MESHOPTIXIQ_DEMO_MODE is read one way everywhere: the guide's spellings turn it on, the
usual offs leave it off, anything else is refused with a message (never a guess)."""

from __future__ import annotations

import pytest
from meshq_runtime.serve import ServeError, ServeOptions, serve
from meshq_runtime.settings import ServiceSettings
from network_discovery.licensing.gates import demo_mode, parse_demo_mode
from pydantic import ValidationError


@pytest.mark.parametrize("value", ["true", "TRUE", " true ", "1", "yes", "Yes\n"])
def test_on(value: str) -> None:
    assert parse_demo_mode(value) is True
    assert demo_mode({"MESHOPTIXIQ_DEMO_MODE": value}) is True


@pytest.mark.parametrize("value", ["", "false", " FALSE ", "0", "no"])
def test_off(value: str) -> None:
    assert parse_demo_mode(value) is False
    assert demo_mode({"MESHOPTIXIQ_DEMO_MODE": value}) is False


@pytest.mark.parametrize("value", ["on", "off", "enabled", "2", "tru"])
def test_anything_else_is_refused_and_opens_nothing(value: str) -> None:
    with pytest.raises(ValueError, match="use true, 1 or yes"):
        parse_demo_mode(value)
    assert demo_mode({"MESHOPTIXIQ_DEMO_MODE": value}) is False  # a gate never opens on it


def test_service_settings_read_it_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHOPTIXIQ_DEMO_MODE", " true ")  # crashed a service before
    assert ServiceSettings().demo_mode is True
    monkeypatch.setenv("MESHOPTIXIQ_DEMO_MODE", "on")
    with pytest.raises(ValidationError, match="use true, 1 or yes"):
        ServiceSettings()


def test_serve_refuses_it_before_starting_anything(tmp_path) -> None:
    options = ServeOptions(
        demo=False,
        data_dir=tmp_path,
        environ={"MESHOPTIXIQ_DEMO_MODE": "on", "MESHQ_DATA_DIR": str(tmp_path)},
    )
    with pytest.raises(ServeError, match="MESHOPTIXIQ_DEMO_MODE='on' is not understood"):
        serve(options)
    assert not (tmp_path / "run").exists()
