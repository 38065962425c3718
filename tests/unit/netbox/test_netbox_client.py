"""The NetBox client over real HTTP: token, pagination via next, bulk writes, backoff."""

from __future__ import annotations

import pytest
from network_discovery.integrations.netbox import (
    NetBoxClient,
    NetBoxError,
    NetBoxUnavailable,
    SyncOptions,
    run_sync,
)
from support.netbox_fake import FakeNetBox
from support.netbox_graph import TOKEN


class Clock:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def sites(netbox: FakeNetBox, n: int) -> None:
    for i in range(n):
        netbox.add("dcim/sites", name=f"Site {i}", slug=f"site-{i}", status="active")


async def test_lists_follow_next_with_the_page_size(netbox: FakeNetBox) -> None:
    sites(netbox, 7)
    async with NetBoxClient(netbox.base_url + "/", TOKEN, page_size=3) as client:
        got = await client.list("dcim/sites")
        assert [s["slug"] for s in got] == [f"site-{i}" for i in range(7)]
        assert [q for _, _, q in netbox.log] == ["limit=3", "limit=3&offset=3", "limit=3&offset=6"]
        assert [s["slug"] for s in await client.list("dcim/sites", slug=["site-1", "site-5"])] == [
            "site-1",
            "site-5",
        ]
        assert [s["slug"] for s in await client.list("dcim/sites", q="SITE 6")] == ["site-6"]


async def test_a_proxy_written_next_link_is_rebased(netbox: FakeNetBox) -> None:
    sites(netbox, 3)
    netbox.store.base_url = "http://netbox.internal:8080"  # what a proxy might make it write
    async with NetBoxClient(netbox.base_url, TOKEN, page_size=2) as client:
        assert len(await client.list("dcim/sites")) == 3


async def test_token_problems_say_what_to_fix(netbox: FakeNetBox) -> None:
    async with NetBoxClient(netbox.base_url, "not-the-token") as client:
        with pytest.raises(
            NetBoxError, match=r"refused the token \(403: Invalid token\); check NETBOX_TOKEN"
        ):
            await client.status()
    assert netbox.log == [("GET", "/api/status/", "")]


async def test_429_honours_retry_after_and_5xx_backs_off(netbox: FakeNetBox) -> None:
    sites(netbox, 2)
    clock = Clock()
    async with NetBoxClient(netbox.base_url, TOKEN, sleep=clock.sleep) as client:
        netbox.inject(429, retry_after="7")
        netbox.inject(503)
        assert len(await client.list("dcim/sites")) == 2
        assert clock.waits == [7.0, 1.0]  # Retry-After, then exponential backoff from 0.5 s
        netbox.inject(429, retry_after="3600")
        await client.list("dcim/sites")
        assert clock.waits[-1] == 60.0, "a huge Retry-After is capped"


async def test_netbox_that_stays_down_is_reported(netbox: FakeNetBox) -> None:
    clock = Clock()
    async with NetBoxClient(netbox.base_url, TOKEN, sleep=clock.sleep, max_retries=2) as client:
        netbox.inject(502, count=5)
        with pytest.raises(NetBoxUnavailable, match="answered 502 to GET /api/dcim/sites/ 3 times"):
            await client.list("dcim/sites")


async def test_a_500_on_a_write_is_not_retried(netbox: FakeNetBox) -> None:
    async with NetBoxClient(netbox.base_url, TOKEN, sleep=Clock().sleep) as client:
        netbox.inject(500, method="POST")
        with pytest.raises(NetBoxError, match="answered 500 to POST /api/dcim/sites/"):
            await client.create("dcim/sites", [{"name": "A", "slug": "a"}])
    assert [m for m, _, _ in netbox.log] == ["POST"]


async def test_bulk_writes_keep_the_good_objects_and_name_the_bad_field(
    netbox: FakeNetBox,
) -> None:
    sites(netbox, 1)
    async with NetBoxClient(netbox.base_url, TOKEN) as client:
        result = await client.create(
            "dcim/sites",
            [
                {"name": "New", "slug": "new"},
                {"name": "Site 0", "slug": "site-0"},
                {"name": "Bad", "slug": "bad", "status": "sideways"},
            ],
        )
    assert [s["slug"] for s in result.done] == ["new"]
    assert [str(e) for e in result.errors] == [
        "dcim/sites Site 0: name: site with this name already exists.",
        "dcim/sites Site 0: slug: site with this slug already exists.",
        "dcim/sites Bad: status: 'sideways' is not a valid choice.",
    ]
    posts = [entry for entry in netbox.log if entry[0] == "POST"]
    assert len(posts) == 2, "refused, then the good object alone"
    netbox.violations.clear()  # the bad status was sent on purpose


async def test_a_429_mid_sync_resumes_and_finishes_the_same(graph, netbox: FakeNetBox) -> None:
    clock = Clock()
    async with NetBoxClient(netbox.base_url, TOKEN, page_size=2, sleep=clock.sleep) as client:
        netbox.inject(429, skip=5, count=2, retry_after="2", method="POST")
        netbox.inject(429, skip=3, retry_after="1", method="GET")
        result = await run_sync(client, graph.reader(), SyncOptions("push"))
        assert result.errors == [] and clock.waits == [1.0, 2.0, 2.0]
        assert len(netbox.store.objects["dcim/devices"]) == 3
        assert len(netbox.store.objects["ipam/ip-addresses"]) == 5
        again = await run_sync(client, graph.reader(), SyncOptions("push"))
        assert not again.changed
