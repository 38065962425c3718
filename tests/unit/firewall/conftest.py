"""The two-firewall fixture network, ingested through the real graph engine into LadybugDB."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.firewall_fixture import Net, open_net


@pytest.fixture(scope="module")
async def net(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Net]:
    built = await open_net(tmp_path_factory.mktemp("fw"))
    yield built
    await built.store.close()
