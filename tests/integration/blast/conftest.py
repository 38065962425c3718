"""A real graph engine and gateway on the demo network for the CI-gate examples.

Every test takes its own named key: the chaos-simulate limit (5 a minute) is per identity and
kept in the shared Redis, so no two tests (or runs) share a budget.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from network_discovery.cli.apikey import apikey
from support.demo_stack import demo_stack
from support.procs import wait_for

pytestmark = pytest.mark.integration


@dataclass
class Gate:
    url: str
    keys_file: Path

    def key(self) -> str:
        """A fresh named key (group Network-Ops)."""
        name = f"ci-{uuid.uuid4().hex[:10]}"
        result = CliRunner().invoke(
            apikey, ["create", name, "--file", str(self.keys_file), "--group", "Network-Ops"]
        )
        assert result.exit_code == 0, result.output
        token = result.stdout.strip().splitlines()[0]
        # the gateway rereads the key file at most once a second
        wait_for(
            lambda: (
                httpx.get(f"{self.url}/queries", headers={"X-API-Key": token}).status_code != 401
            ),
            timeout=10,
            what="the gateway to accept the new key",
        )
        return token


@pytest.fixture(scope="package")
def gate(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gate]:
    tmp = tmp_path_factory.mktemp("blast-gate")
    keys = tmp / "api_keys.json"
    with demo_stack(
        stack,
        tmp,
        MESHQ_LICENSING_URL="http://127.0.0.1:9",
        MESHOPTIXIQ_DEMO_MODE="true",
        API_KEY=secrets.token_urlsafe(24),
        MESHQ_API_KEYS_FILE=str(keys),
    ) as running:
        yield Gate(url=running.gateway.url, keys_file=keys)
