"""An in-memory MCP client session over the fake gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session
from mcp_fake_gateway import URL, FakeGateway
from network_discovery.mcp._gateway import Credential, Gateway
from network_discovery.mcp.app import build_server


@pytest.fixture
def fake() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def connect(fake: FakeGateway, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.delenv("MESHOPTIXIQ_DEMO_MODE", raising=False)

    @asynccontextmanager
    async def open_session(key: str = "good") -> AsyncIterator[ClientSession]:
        client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
        gateway = Gateway(url=URL, default=Credential(api_key=key), client=client)
        async with (
            client,
            create_connected_server_and_client_session(build_server(gateway)) as session,
        ):
            yield session

    return open_session
