"""Fixtures of the NetBox sync tests: a fake NetBox on loopback, a real graph, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.integrations.netbox import NetBoxClient
from support.netbox_fake import FakeNetBox, running_netbox
from support.netbox_graph import TOKEN, Graph, fixture_snapshot


@pytest.fixture
async def graph(tmp_path: Path) -> AsyncIterator[Graph]:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(fixture_snapshot())
    yield Graph(engine)
    await store.close()


@pytest.fixture
def netbox() -> Iterator[FakeNetBox]:
    with running_netbox(TOKEN) as fake:
        yield fake
        assert fake.violations == [], "requests or answers outside NetBox's schema"


@pytest.fixture
async def client(netbox: FakeNetBox) -> AsyncIterator[NetBoxClient]:
    async def no_wait(_: float) -> None:
        return None

    async with NetBoxClient(netbox.base_url, TOKEN, page_size=2, sleep=no_wait) as c:
        yield c


def device_kit(netbox: FakeNetBox, site: str, maker: str, model: str, role: str) -> dict[str, int]:
    """What a NetBox device needs (site, device type, role), as an administrator made them:
    the ids to pass as ``**kit`` when adding devices."""
    site_obj = netbox.add("dcim/sites", name=site, slug=site.lower(), status="active")
    maker_obj = netbox.add("dcim/manufacturers", name=maker, slug=maker.lower())
    dtype = netbox.add(
        "dcim/device-types", manufacturer=maker_obj["id"], model=model, slug=model.lower()
    )
    role_obj = netbox.add("dcim/device-roles", name=role, slug=role.lower().replace(" ", "-"))
    return {"site": site_obj["id"], "device_type": dtype["id"], "role": role_obj["id"]}
