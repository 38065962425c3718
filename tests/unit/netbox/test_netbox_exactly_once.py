"""Writes under load: NetBox applied a write but the answer never said so (a read timeout, a
proxy's 502/503/504). A POST is read back, never sent again blindly; every answer counts;
bulk writes shrink to fit the timeout."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from network_discovery.integrations.netbox import (
    NetBoxClient,
    NetBoxUnavailable,
    SyncOptions,
    run_sync,
)
from network_discovery.integrations.netbox._readback import read_back
from support.netbox_fake import FakeNetBox
from support.netbox_graph import TOKEN, fixture_snapshot

PUSH = SyncOptions("push")
TAG = [{"name": "meshoptixiq", "slug": "meshoptixiq"}]
#: what a clean push of the fixture network creates
CLEAN = {
    "dcim/devices": 3,
    "dcim/interfaces": 8,
    "dcim/mac-addresses": 5,
    "ipam/ip-addresses": 5,
    "ipam/vlans": 1,
    "dcim/platforms": 3,
    "dcim/device-types": 3,
    "dcim/manufacturers": 3,
    "dcim/device-roles": 3,
    "dcim/sites": 1,
    "extras/tags": 1,
}
KEYS = {
    "dcim/interfaces": ("device", "name"),
    "dcim/mac-addresses": ("assigned_object_id", "mac_address"),
    "ipam/ip-addresses": ("address",),
    "dcim/devices": ("name",),
}


async def no_wait(_: float) -> None:
    return None


def counts(netbox: FakeNetBox) -> dict[str, int]:
    return {c: len(netbox.store.objects[c]) for c in CLEAN}


def copies(netbox: FakeNetBox) -> dict[str, list[tuple[Any, ...]]]:
    """Natural keys NetBox holds more than once, by collection."""
    out = {}
    for collection, fields in KEYS.items():
        seen = Counter(
            tuple(o.get(f) for f in fields) for o in netbox.store.objects[collection].values()
        )
        out[collection] = [k for k, n in seen.items() if n > 1]
    return out


def posts(netbox: FakeNetBox, collection: str) -> list[int]:
    return [n for m, p, n in netbox.write_sizes if m == "POST" and p == f"/api/{collection}/"]


async def test_a_fresh_push_under_unclear_answers_creates_each_object_once(
    graph, netbox: FakeNetBox
) -> None:
    # NetBox commits every POST, and each answer is lost: proxy errors, then read timeouts
    netbox.inject(502, method="POST", after=True, count=4)
    netbox.inject(0, method="POST", after=True, hold=1.5, count=2)  # past the 1 s timeout
    netbox.inject(503, method="POST", after=True, count=3)
    netbox.inject(504, method="POST", after=True, count=100)
    netbox.inject(502, method="PATCH", after=True, count=2)
    async with NetBoxClient(
        netbox.base_url, TOKEN, page_size=50, sleep=no_wait, timeout=1.0
    ) as client:
        result = await run_sync(client, graph.reader(), PUSH)
        assert result.errors == [] and result.conflicts == []
        assert counts(netbox) == CLEAN, "each object exactly once"
        assert all(not dup for dup in copies(netbox).values())
        assert not any(n > 0 for m, _, n in netbox.write_sizes if m == "DELETE")
        rows = result.summary()
        assert [r for r in rows if r["done"] != r["planned"]] == []
        assert result.applied is not None
        unanswered = result.applied.unanswered
        assert unanswered >= len([p for m, p, _ in netbox.write_sizes if m == "POST"])
        assert result.notes[-1].startswith(f"NetBox gave no clear answer to {unanswered} write")
        assert result.outcome == "ok"

        # what NetBox holds is what a clean push makes: the next push changes nothing
        again = await run_sync(client, graph.reader(), PUSH)
        assert not again.changed and again.errors == []


async def test_macs_answered_502_are_read_back_not_sent_seven_times(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    """The old client sent a MAC batch again on each 502 and counted the last answer alone:
    seven copies of every MAC, and a summary that said all was well."""
    netbox.inject(502, method="POST", path="/api/dcim/mac-addresses/", after=True, count=6)
    result = await run_sync(client, graph.reader(), PUSH)
    assert result.errors == []
    assert len(netbox.store.objects["dcim/mac-addresses"]) == 5
    assert copies(netbox)["dcim/mac-addresses"] == []
    row = next(r for r in result.summary() if r["object"] == "mac address")
    assert (row["planned"], row["done"]) == (5, 5)
    assert sum(posts(netbox, "dcim/mac-addresses")) <= 5, "nothing sent after a read-back"


async def test_every_answer_of_a_batch_counts_toward_the_summary_and_the_outcome(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    long_name = "edge-" + "x" * 70  # NetBox refuses names over 64 characters
    snap = fixture_snapshot()
    device = snap.devices[2].model_copy(update={"hostname": long_name})
    await graph.engine.apply_snapshot(
        snap.model_copy(
            update={
                "snapshot_id": "netbox-fixture-long",
                "scope": (*snap.scope, snap.scope[2].model_copy(update={"device": long_name})),
                "devices": (*snap.devices, device),
            }
        )
    )
    # the device batch: refused (400) for one object, but the answer is lost behind a 502
    netbox.inject(502, method="POST", path="/api/dcim/devices/", after=True)
    result = await run_sync(client, graph.reader(), PUSH)
    row = next(r for r in result.summary() if (r["object"], r["action"]) == ("device", "create"))
    assert (row["planned"], row["done"]) == (4, 3)
    assert result.errors == [
        f"device {long_name}: name: Ensure this field has no more than 64 characters."
    ]
    assert result.outcome == "failed", "the CLI exits 1 and the service says failed"
    assert sorted(d["name"] for d in netbox.store.objects["dcim/devices"].values()) == [
        "fw-01",
        "sw-acc-01",
        "sw-core-01",
    ]
    netbox.violations.clear()  # the over-long name was sent on purpose


async def test_a_post_without_a_read_back_is_never_sent_twice(netbox: FakeNetBox) -> None:
    async with NetBoxClient(netbox.base_url, TOKEN, sleep=no_wait) as client:
        netbox.inject(503, method="POST", after=True)
        with pytest.raises(NetBoxUnavailable, match=r"no clear answer to POST .*not sent again"):
            await client.create("dcim/sites", [{"name": "A", "slug": "a", "status": "active"}])
    assert posts(netbox, "dcim/sites") == [1]
    assert len(netbox.store.objects["dcim/sites"]) == 1


async def test_refused_as_existing_after_an_early_read_back_is_adopted(
    netbox: FakeNetBox,
) -> None:
    """The read-back ran before NetBox committed: the POST sent again is refused as a
    duplicate, and a second read-back finds the object the first POST made."""
    netbox.add("extras/tags", name="meshoptixiq", slug="meshoptixiq")
    sites = [
        {"name": n, "slug": n.lower(), "status": "active", "tags": TAG} for n in ("North", "South")
    ]
    calls: list[int] = []

    async with NetBoxClient(netbox.base_url, TOKEN, sleep=no_wait) as client:

        async def too_early_once(bodies: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
            calls.append(len(bodies))
            if len(calls) == 1:
                return [None] * len(bodies)
            return await read_back(client, "dcim/sites", bodies, "meshoptixiq")

        netbox.inject(502, method="POST", after=True)
        result = await client.create("dcim/sites", sites, recover=too_early_once)
    assert result.errors == [] and [s["name"] for s in result.done] == ["North", "South"]
    assert (result.unanswered, result.recovered) == (1, 2)
    assert posts(netbox, "dcim/sites") == [2, 2]
    assert len(netbox.store.objects["dcim/sites"]) == 2
    netbox.violations.clear()  # the second POST was refused on purpose: it had to be


async def test_a_write_netbox_commits_after_the_client_gave_up_is_collapsed_next_time(
    graph, netbox: FakeNetBox
) -> None:
    """A read timeout where NetBox commits only later: the read-back finds nothing, the MACs
    are sent again, then the late commit lands. MACs have no uniqueness in NetBox, so there
    are two copies; the next push keeps the primary ones and deletes the others."""
    async with NetBoxClient(
        netbox.base_url, TOKEN, page_size=50, sleep=no_wait, timeout=1.0
    ) as client:
        netbox.inject(0, method="POST", path="/api/dcim/mac-addresses/", late=True, hold=1.5)
        result = await run_sync(client, graph.reader(), PUSH)
        assert result.errors == []
        macs = netbox.store.objects["dcim/mac-addresses"]
        async with asyncio.timeout(10):  # the late commit
            while len(macs) < 10:
                await asyncio.sleep(0.05)
        assert len(copies(netbox)["dcim/mac-addresses"]) == 5

        again = await run_sync(client, graph.reader(), PUSH)
        lines = [line for p in again.plans for line in p.lines()]
        assert len(lines) == 5 and all(
            line.startswith("push delete duplicate mac address ") for line in lines
        )
        assert again.errors == [] and len(macs) == 5
        primaries = {
            i["primary_mac_address"]
            for i in netbox.store.objects["dcim/interfaces"].values()
            if i.get("primary_mac_address")
        }
        assert primaries == set(macs), "the copies in use are the ones kept"
        third = await run_sync(client, graph.reader(), PUSH)
        assert not third.changed


async def test_patch_and_delete_are_repeated_since_repeating_them_is_harmless(
    netbox: FakeNetBox,
) -> None:
    a = netbox.add("dcim/sites", name="A", slug="a", status="active")
    b = netbox.add("dcim/sites", name="B", slug="b", status="active")
    async with NetBoxClient(netbox.base_url, TOKEN, sleep=no_wait) as client:
        netbox.inject(502, method="PATCH", after=True)
        updated = await client.update("dcim/sites", [{"id": a["id"], "description": "x"}])
        assert [s["description"] for s in updated.done] == ["x"]
        netbox.inject(504, method="DELETE", after=True)
        gone = await client.delete("dcim/sites", [a["id"], b["id"]])
        assert len(gone.done) == 2 and netbox.store.objects["dcim/sites"] == {}
    assert [m for m, _, _ in netbox.write_sizes] == ["PATCH", "PATCH", "DELETE", "DELETE"]


async def test_bulk_writes_shrink_to_finish_within_the_timeout(netbox: FakeNetBox) -> None:
    sites = [{"name": f"S{i}", "slug": f"s{i}", "status": "active"} for i in range(30)]
    netbox.pace = 0.04  # NetBox under load: 40 ms an object
    async with NetBoxClient(netbox.base_url, TOKEN, sleep=no_wait, timeout=1.0) as client:
        result = await client.create("dcim/sites", sites)
    assert len(result.done) == 30 and result.unanswered == 0
    sizes = posts(netbox, "dcim/sites")
    assert sizes[0] == 5, "before NetBox has shown its pace: 0.1 s an object, half the timeout"
    assert max(sizes[1:]) <= 13, "then as many as 40 ms each fit in half a second"


async def test_a_timeout_halves_the_next_batch(netbox: FakeNetBox) -> None:
    netbox.add("extras/tags", name="meshoptixiq", slug="meshoptixiq")
    sites = [{"name": f"S{i}", "slug": f"s{i}", "status": "active", "tags": TAG} for i in range(12)]
    async with NetBoxClient(netbox.base_url, TOKEN, sleep=no_wait, timeout=1.0) as client:

        async def recover(bodies: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
            return await read_back(client, "dcim/sites", bodies, "meshoptixiq")

        netbox.inject(0, method="POST", after=True, hold=1.5)
        result = await client.create("dcim/sites", sites, recover=recover)
    assert len(result.done) == 12 and (result.unanswered, result.recovered) == (1, 5)
    sizes = posts(netbox, "dcim/sites")
    assert sizes[:2] == [5, 2], "after a timeout of 5 objects, 2: half of what would fit"
    assert sum(sizes[1:]) == 7, "what the read-back found was not sent again"
    assert len(netbox.store.objects["dcim/sites"]) == 12
